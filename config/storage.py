"""Static files: WhiteNoise's hashed, compressed storage (collectstatic writes the manifest)."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed names from the manifest that collectstatic wrote (`make run`, `make test`). A checkout where
    collectstatic never ran has no manifest: plain names then, which WhiteNoise serves from the finders."""

    manifest_strict = False
    support_js_module_import_aggregation = True  # `import ... from "./x.js"` names the hashed file too

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:
            return name
        return super().stored_name(name)
