#!/usr/bin/env bash
# ESLint over static/ (config: eslint.config.mjs). The pinned eslint (scripts/eslint-npm/package-lock.json) is
# installed by `npm ci` into the git-ignored var/eslint on first use, and again only when the lockfile changed:
# no global install, no CDN.  `scripts/eslint.sh --install-only` installs and stops (CI does it with the other
# installs, outside the suite's time).
set -euo pipefail
cd "$(dirname "$0")/.."
PINNED=scripts/eslint-npm
DEST=var/eslint
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "eslint: node and npm are not installed (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
if [ ! -x "$DEST/node_modules/.bin/eslint" ] || ! cmp -s "$PINNED/package-lock.json" "$DEST/package-lock.json"; then
  mkdir -p "$DEST"
  cp "$PINNED/package.json" "$PINNED/package-lock.json" "$DEST/"
  (cd "$DEST" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
if [ "${1:-}" = "--install-only" ]; then
  exit 0
fi
exec "$DEST/node_modules/.bin/eslint" --max-warnings=0 "$@"
