// The portal's shared pieces: the page's config, status words, refusal words of the merchant API, a poll that
// rests while the tab is hidden, and a Leaflet map that still shows its markers when tiles cannot load.
import { $ } from "../../common/dom.js";
import { gettext } from "../../common/ui.js";

export const cfg = JSON.parse($("portal-config").textContent);

export const STATUS = {
  created: gettext("New"),
  offered: gettext("Offered to a rider"),
  assigned: gettext("Rider assigned"),
  ready: gettext("Ready at store"),
  picked_up: gettext("On the way"),
  delivered: gettext("Delivered"),
  failed: gettext("Delivery failed"),
  returning: gettext("Going back to the store"),
  returned: gettext("Back at the store"),
  cancelled: gettext("Cancelled"),
};

// Statuses from which the merchant may still cancel (the server decides: 409 wrong_state otherwise).
export const CANCELLABLE = new Set(["created", "offered", "assigned", "ready"]);

// The merchant API's refusals as the portal words them (the server's own detail for anything else).
export const PORTAL_MESSAGES = {
  out_of_area: gettext("This address is outside the store's delivery area. Check the door on the map, or choose another store."),
  quote_expired: gettext("The quote has expired. Get a new quote."),
  quote_used: gettext("This quote was already used for an order. Get a new quote."),
  quote_mismatch: gettext("The door moved since the quote. Get a new quote."),
  idempotency_mismatch: gettext("This form was already sent with other details. Reload the page to start again."),
  window_in_past: gettext("The time window is in the past."),
  bad_window: gettext("The delivery deadline is before the pickup time."),
};

// Call `fn` now and every `seconds` while the tab is visible; at once again when it becomes visible. `stop()`
// ends it (an order that left the road changes no more).
export function poll(fn, seconds) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    clearTimeout(timer);
    if (stopped) return;
    if (document.visibilityState === "visible") {
      try { await fn(); } catch { /* the next tick tries again; fn shows its own state */ }
    }
    timer = setTimeout(tick, seconds * 1000);
  };
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") tick(); });
  tick();
  return { now: tick, stop: () => { stopped = true; clearTimeout(timer); } };
}

export function makeMap(container, noteId, center, zoom = 13) {
  const L = window.L;
  const note = $(noteId);
  const say = (text) => { note.textContent = text; note.hidden = !text; };
  if (!L) {
    container.dataset.map = "unavailable";
    say(gettext("The map could not load. The text on this page says the same."));
    return null;
  }
  const map = L.map(container, { zoomControl: true, attributionControl: true }).setView(center, zoom);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  const tiles = L.tileLayer(cfg.tiles, { maxZoom: 19, attribution: cfg.attribution });
  let failed = false;
  const unavailable = () => {
    if (failed) return;
    failed = true;
    container.dataset.tiles = "unavailable";
    say(gettext("Map tiles unavailable. The markers are still in the right places."));
  };
  tiles.on("tileerror", unavailable);
  tiles.on("tileload", (e) => {
    if (e.tile && e.tile.naturalWidth === 1) {
      e.tile.style.display = "none";
      unavailable();
    } else if (!failed) container.dataset.tiles = "ok";
  });
  tiles.addTo(map);
  return map;
}
