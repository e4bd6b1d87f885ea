// The rider app's service worker (scope /rider/). It caches the app shell only: the static
// scripts, styles, icons and Leaflet files. Never an /api/ answer, never a page (pages are
// network-first and never stored), never a map tile, never anything from another origin.

const SHELL_CACHE = "rider-shell-v3";
const SHELL = [
  "/static/common/site.css",
  "/static/common/api.js",
  "/static/common/dom.js",
  "/static/common/socket.js",
  "/static/common/ui.js",
  "/static/common/alerts.js",
  "/static/common/theme.js",
  "/static/common/rtc.js",
  "/static/common/call-bar.js",
  "/static/common/chat.js",
  "/static/rider/rider.css",
  "/static/rider/js/app.js",
  "/static/rider/js/attempt.js",
  "/static/rider/js/format.js",
  "/static/rider/js/geo.js",
  "/static/rider/js/map.js",
  "/static/rider/js/next-action.js",
  "/static/rider/js/offers.js",
  "/static/rider/js/offline.js",
  "/static/rider/js/order-actions.js",
  "/static/rider/js/order-list.js",
  "/static/rider/js/order-view.js",
  "/static/rider/js/pod.js",
  "/static/rider/js/position-status.js",
  "/static/rider/js/returns.js",
  "/static/rider/js/safety.js",
  "/static/rider/js/store.js",
  "/static/rider/js/wakelock.js",
  "/static/rider/icons/icon-192.png",
  "/static/rider/icons/icon-512.png",
  "/static/leaflet/leaflet.js",
  "/static/leaflet/leaflet.css",
  "/static/leaflet/images/marker-icon.png",
  "/static/leaflet/images/marker-icon-2x.png",
  "/static/leaflet/images/marker-shadow.png",
];
const SHELL_PREFIXES = ["/static/common/", "/static/rider/", "/static/leaflet/"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("rider-") && k !== SHELL_CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function isShell(url) {
  return url.origin === self.location.origin && SHELL_PREFIXES.some((p) => url.pathname.startsWith(p));
}

function cacheable(response) {
  const cc = response.headers.get("Cache-Control") || "";
  return response.ok && response.type === "basic" && !/no-store|private/.test(cc);
}

// Stale-while-revalidate: the cached copy at once, and a fresh one for the next visit.
async function shell(request) {
  const cache = await caches.open(SHELL_CACHE);
  const cached = await cache.match(request, { ignoreSearch: true });
  const network = fetch(request).then((response) => {
    if (cacheable(response)) cache.put(request, response.clone());
    return response;
  });
  if (cached) {
    network.catch(() => {});
    return cached;
  }
  return network;
}

const OFFLINE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Offline · Rider</title><script src="/static/common/theme.js"></script>
<link rel="stylesheet" href="/static/common/site.css">
<link rel="stylesheet" href="/static/rider/rider.css"></head>
<body class="rider-app"><main id="main"><h1>You are offline</h1>
<p class="lead">The rider app needs a connection to open. Your saved positions are sent as soon as you are back.</p>
<section id="offline-orders" aria-label="Last saved orders"></section>
<p><a class="btn btn-primary" href="/rider/">Try again</a></p></main>
<script type="module" src="/static/rider/js/offline.js"></script></body></html>`;

// Pages: always from the network, never stored. Without a network, a plain offline notice.
async function page(request) {
  try {
    return await fetch(request);
  } catch {
    return new Response(OFFLINE_PAGE, {
      status: 503,
      headers: {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
      },
    });
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return; // another origin: the network only (so are /tiles/ below)
  if (isShell(url)) {
    event.respondWith(shell(request));
  } else if (request.mode === "navigate") {
    event.respondWith(page(request));
  }
  // Everything else (/api/, the manifest, the worker itself) goes to the network untouched.
});
