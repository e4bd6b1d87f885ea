// The worker's offline page: the last copy of each order this phone saved (IndexedDB, at the tier it held then,
// purged on revocation and logout as always), marked as offline. Nothing is fetched and nothing is stored here.
import { el } from "../../common/dom.js";
import { TIER_LABELS, statusLabel } from "./format.js";
import { DOOR_PART_LABELS } from "./next-action.js";
import { savedOrders } from "./store.js";
import { fmt, gettext } from "../../common/ui.js";

const SAVED_MAX_AGE_MS = 24 * 3600 * 1000;
const TEXT = {
  mark: gettext("Offline: last saved copy"),
  saved: (when) => fmt(gettext("Saved %(when)s. It may be out of date."), { when }),
  pickup: gettext("Pickup number"),
};

function card(order) {
  const dest = order.destination || {};
  const parts = dest.parts
    ? el("dl", { class: "door-parts" }, ...Object.entries(DOOR_PART_LABELS).filter(([k]) => dest.parts[k]).map(([k, label]) =>
      el("div", { class: "door-part", "data-part": k }, el("dt", { class: "part-label" }, label), el("dd", {}, dest.parts[k]))))
    : null;
  return el("article", { class: "card order offline-order", "data-offline-order": String(order.id) },
    el("p", { class: "offline-mark", "data-role": "offline-mark" }, TEXT.mark),
    el("h2", {}, `${TEXT.pickup} ${order.pickup_code} · ${order.store.name}`),
    el("p", {}, el("span", { class: "badge", "data-status": order.status }, statusLabel(order.status)), " ",
      el("span", { class: "badge tier-badge", "data-tier": dest.tier || "" }, TIER_LABELS[dest.tier] || "")),
    el("p", { class: "dest-text" }, dest.parts ? (dest.parts.street || "") : (dest.text || "")),
    parts,
    el("p", { class: "muted" }, TEXT.saved(new Date(order.saved_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }))));
}

const now = Date.now();
const orders = (await savedOrders().catch(() => []))
  .filter((o) => now - (o.saved_at || 0) <= SAVED_MAX_AGE_MS && ["assigned", "ready", "picked_up"].includes(o.status));
document.getElementById("offline-orders").replaceChildren(...orders.map(card));
document.body.dataset.offline = "true";
