// Night mode, applied before first paint: a classic script in <head> (no inline script under the CSP).
// Contract: <html data-theme="dark|light"> follows prefers-color-scheme unless the user chose one with the
// #theme-toggle button; the choice is kept in localStorage under "theme".
(function () {
  var KEY = "theme";
  var root = document.documentElement;
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  function chosen() {
    try { var v = localStorage.getItem(KEY); return v === "dark" || v === "light" ? v : null; } catch { return null; }
  }
  function apply() {
    var theme = chosen() || (media && media.matches ? "dark" : "light");
    root.setAttribute("data-theme", theme);
    var button = document.getElementById("theme-toggle");
    if (button) button.setAttribute("aria-pressed", String(theme === "dark"));
  }
  apply();
  if (media && media.addEventListener) media.addEventListener("change", apply);
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("theme-toggle");
    if (!button) return;
    button.hidden = false;
    apply();
    button.addEventListener("click", function () {
      var next = root.getAttribute("data-theme") === "dark" ? "light" : "dark";
      try { localStorage.setItem(KEY, next); } catch { /* storage disabled: this page only */ }
      root.setAttribute("data-theme", next);
      button.setAttribute("aria-pressed", String(next === "dark"));
    });
  });
})();
