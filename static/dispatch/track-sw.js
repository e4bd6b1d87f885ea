// The tracking page's service worker (scope: one tracking link, /t/<token>/). Web Push only: it caches
// nothing, so no order data is ever kept by the browser after the page is closed.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data;
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  const title = typeof data.title === "string" ? data.title : "";
  const body = typeof data.body === "string" ? data.body : "";
  event.waitUntil(self.registration.showNotification(title || body.slice(0, 40), {
    body, tag: typeof data.tag === "string" ? data.tag : "order", renotify: true,
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const scope = self.registration.scope;
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const page = open.find((c) => c.url.startsWith(scope));
    if (page) return page.focus();
    return self.clients.openWindow(scope);
  })());
});
