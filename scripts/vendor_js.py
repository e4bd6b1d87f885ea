"""Vendor the browser libraries listed in static/vendor/vendor.lock.json from the npm registry.

For each package: `npm pack NAME@VERSION` into a temporary directory, check the tarball against the lock's
sha512 integrity, copy the named file (and any `also` files, e.g. a plugin's stylesheets) and its licence into
static/vendor/<dest>, and rewrite static/vendor/README.md. The vendored files are committed, so `make run` needs
no npm; this script runs only to change a version (edit the lock first). Usage: python scripts/vendor_js.py
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "static" / "vendor"


def integrity_of(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def vendor(package: dict) -> None:
    spec = f"{package['name']}@{package['version']}"
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", tmp],  # noqa: S603, S607 - the lock names it
                             check=True, capture_output=True, text=True).stdout.split()[-1]
        tarball = Path(tmp) / out
        found = integrity_of(tarball)
        if found != package["integrity"]:
            sys.exit(f"{spec}: integrity mismatch: lock {package['integrity']}, registry {found}")
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        source = Path(tmp) / "package"
        dest = VENDOR / package["dest"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / package["file"], dest)
        for extra in package.get("also", []):
            shutil.copyfile(source / extra["file"], VENDOR / extra["dest"])
        for name in package["licence_files"]:
            shutil.copyfile(source / name, dest.parent / name)
    print(f"{spec} -> {dest.relative_to(ROOT)}")


def main() -> None:
    lock = json.loads((VENDOR / "vendor.lock.json").read_text())
    rows = []
    for package in lock["packages"]:
        vendor(package)
        files = ", ".join(f"`{d}`" for d in [package["dest"], *(e["dest"] for e in package.get("also", []))])
        rows.append(f"| {files} | {package['name']} | {package['version']} | {package['license']} "
                    f"| `{package['integrity']}` | {package['purpose']} |")
    (VENDOR / "README.md").write_text(
        "# Vendored browser libraries\n\n"
        "Written by `scripts/vendor_js.py` from `vendor.lock.json` (npm registry, integrity checked). No CDN.\n\n"
        "| file | package | version | licence | npm integrity | used for |\n| --- | --- | --- | --- | --- | --- |\n"
        + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
