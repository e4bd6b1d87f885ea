// The counter's shared state: the config, today's orders and their cards, the bag being looked at, and
// the words for an order's status and its rider.
import { $ } from "../../../common/dom.js";
import { fmt, gettext } from "../../../common/ui.js";

export const cfg = JSON.parse($("console-config").textContent);

export const STATUS = {
  created: gettext("New: pack it"),
  offered: gettext("Offered to a rider: pack it"),
  assigned: gettext("Rider assigned: pack it"),
  ready: gettext("Ready"),
  picked_up: gettext("Handed over"),
  delivered: gettext("Delivered"),
  cancelled: gettext("Cancelled"),
};
export const OPEN = new Set(["created", "offered", "assigned", "ready"]);

export const state = {
  orders: new Map(),
  cards: new Map(),
  revealed: new Map(), // order id -> {lines, timer}: in memory only, never stored
  bag: null, // the order the counter is looking at
  checked: null, // {order, rider_code} after a successful dry run
  history: [],
  loaded: false,
};

// Calls between sibling modules, bound when the module that offers them loads (the page's entry module loads
// them all). Importing instead would make import cycles or chains deeper than the hashed static names can
// resolve: collectstatic settles one level of `import` per pass, and gives up after five.
export const late = {};

// The socket and the call manager, once console.js has opened them.
export const link = { socket: null, calls: null };
export const send = (message) => link.socket.send(message);

export const spaced = (code) => String(code).split("").join(" ");
export const riderLine = (o) => {
  if (!o.rider) return gettext("No rider assigned yet");
  const rider = fmt(gettext("Rider %(name)s"), { name: o.rider.name });
  return o.eta ? `${rider} · ${o.eta.label}` : rider;
};

export function itemsText(items) {
  const parts = items.lines.map((l) => `${l.qty} × ${l.name}`);
  if (items.sensitive_count) parts.push(fmt(gettext("%(summary)s (name sealed)"), { summary: items.sensitive_summary }));
  return parts.join(", ") || gettext("No items");
}
