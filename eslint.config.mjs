// ESLint flat config for the front end (static/): `make lint-js`, pinned in scripts/eslint-npm/package-lock.json
// and installed by scripts/eslint.sh into var/eslint, so the shared configs are loaded from there.
import { createRequire } from "node:module";

const require = createRequire(new URL("./var/eslint/package.json", import.meta.url));
const js = require("@eslint/js");
const globals = require("globals");

export default [
  { ignores: ["static/vendor/**", "var/**", "node_modules/**", ".venv/**", "docs/**", "tests/**"] },
  js.configs.recommended,
  {
    files: ["static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: {
        ...globals.browser,
        // Django's JavaScript catalogue (templates/base.html loads /jsi18n/ before the modules).
        gettext: "readonly",
        ngettext: "readonly",
        interpolate: "readonly",
        pgettext: "readonly",
        // Leaflet, from django-leaflet's leaflet.js on the pages with a map.
        L: "readonly",
      },
    },
  },
  {
    // Classic scripts, not modules: the theme runs before first paint; the worker is registered as a script.
    files: ["static/common/theme.js", "static/rider/sw.js", "static/dispatch/track-sw.js"],
    languageOptions: { sourceType: "script" },
  },
  {
    files: ["eslint.config.mjs"],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ["static/rider/sw.js", "static/dispatch/track-sw.js"],
    languageOptions: { globals: { ...globals.serviceworker } },
  },
];
