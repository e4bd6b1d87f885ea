// The rider's list of orders: what to do next first, one card per order.
import { el } from "../../common/dom.js";
import { gettext } from "../../common/ui.js";
import { ACTIVE, TIER_LABELS, statusLabel } from "./format.js";

// What to do next first: picked up, then ready, then assigned; within, the server's stop order (a batch's
// sequence), then nearest; then newest.
const NEXT_RANK = { picked_up: 0, ready: 1, assigned: 2 };
export function sorted(orders) {
  const rank = (o) => NEXT_RANK[o.status] ?? 3;
  const stop = (o) => o.stop ?? Infinity;
  const far = (o) => (o.destination && o.destination.distance_m !== null && o.destination.distance_m !== undefined
    ? o.destination.distance_m : Infinity);
  return [...orders.values()].sort((a, b) => rank(a) - rank(b) || stop(a) - stop(b) || far(a) - far(b) || b.id - a.id);
}

export function activeIds(orders) {
  return sorted(orders).filter((o) => ACTIVE.includes(o.status)).map((o) => o.id);
}

// The list of orders (`orders`: id -> order); a card's button calls open(id).
export function renderList(ui, byId, open) {
  const orders = sorted(byId);
  ui.empty.textContent = gettext("No orders assigned to you right now. New orders appear here by themselves.");
  ui.empty.hidden = orders.length > 0;
  ui.list.replaceChildren(...orders.map((o) => el("li", { class: "order-card", "data-order": String(o.id) },
    // Named by its own text (WCAG 2.5.3: what it shows is what a voice user says), the words between for a listener.
    el("button", { type: "button", class: "order-open", onclick: () => open(o.id) },
    el("span", { class: "visually-hidden" }, gettext("Pickup ")),
    o.stop ? el("span", { class: "visually-hidden" }, gettext("Stop ")) : null,
    o.stop ? el("span", { class: "card-stop", dataset: { stop: o.stop } }, String(o.stop)) : null,
    o.stop ? el("span", { class: "visually-hidden" }, ", ") : null,
    el("span", { class: "card-code" }, o.pickup_code),
    el("span", { class: "visually-hidden" }, gettext(" at ")),
    el("span", { class: "card-main" },
      el("span", { class: "card-store" }, o.store.name),
      el("span", { class: "visually-hidden" }, ", "),
      el("span", { class: "card-meta" },
        el("span", { class: "badge", "data-status": o.status }, statusLabel(o.status)), " ",
        el("span", { class: "badge tier-badge", "data-tier": o.destination.tier }, TIER_LABELS[o.destination.tier] || "")),
    ),
    el("span", { class: "card-go", "aria-hidden": "true" }, "›")))));
}

// Before the street tier the page has no destination point: the server's distance is re-read now
// and then (an area-tier read reveals nothing new and is cheap).
const DISTANCE_EVERY_MS = 15000;
const DISTANCE_FIRST_MS = 2000;

// The active area-tier orders whose distance to re-read now, and the wait until the soonest next one where
// no distance is on screen yet (Infinity: do not wait for a move).
export function distanceDue(orders, fetchedAt) {
  const due = [];
  let soonest = Infinity;
  for (const order of orders.values()) {
    if (!ACTIVE.includes(order.status) || order.destination.tier !== "area") continue;
    const unknown = order.destination.distance_m === null;
    const wait = (unknown ? DISTANCE_FIRST_MS : DISTANCE_EVERY_MS) - (Date.now() - (fetchedAt.get(order.id) || 0));
    if (wait <= 0) due.push(order.id);
    else if (unknown) soonest = Math.min(soonest, wait);
  }
  return { due, soonest };
}
