// The board's shared state: the config, the orders and riders as last loaded, the table's rows, and the
// words for an order's status.
import { $ } from "../../../common/dom.js";
import { gettext } from "../../../common/ui.js";

export const cfg = JSON.parse($("board-config").textContent);

export const STATUS = {
  created: gettext("New"),
  offered: gettext("Offered to a rider"),
  assigned: gettext("Rider assigned"),
  ready: gettext("Ready at store"),
  picked_up: gettext("On the way"),
  failed: gettext("Delivery failed"),
  returning: gettext("Going back to the store"),
  delivered: gettext("Delivered"),
  cancelled: gettext("Cancelled"),
};
// The statuses an open order can have, in the order of the status filter.
export const OPEN_STATUSES = ["created", "offered", "assigned", "ready", "picked_up", "failed", "returning"];

export const state = {
  orders: [],
  riders: new Map(), // id -> {id, name, on_duty, lat, lng, at}
  stores: new Map(),
  loaded: false,
  known: new Set(), // order ids seen so far, to highlight new ones
  calls: null, // the CallManager, once the socket is up
  socket: null, // the board's LiveSocket
  filters: { status: "", store: "", fleet: "", q: "" }, // sent to the server as query parameters
  refiltered: false, // the next list answers a filter change: its orders are not "new"
  ridersVersion: 0, // bumped when the riders' names or duty change (rows rebuild their choices then)
};

// When an order is due, from the server's `due_at` or (an order from the assign answer) as the server reckons it:
// held, the customer's promise; unassigned, the board's assign setting or the promise if sooner.
export function dueAt(order) {
  if (order.due_at) return new Date(order.due_at).getTime();
  const created = new Date(order.created_at).getTime();
  const promise = order.promised_at ? new Date(order.promised_at).getTime() : null;
  if (order.rider) return promise ?? created + cfg.deliver_due_min * 60000;
  const assignDue = created + cfg.assign_due_min * 60000;
  return promise === null ? assignDue : Math.min(assignDue, promise);
}

export function isLate(order, now = Date.now()) {
  return now > dueAt(order);
}

// Most urgent first: unassigned, then the oldest (as the server sorts).
export function byUrgency(a, b) {
  return (a.rider ? 1 : 0) - (b.rider ? 1 : 0) || new Date(a.created_at) - new Date(b.created_at) || a.id - b.id;
}

// Calls between sibling modules, bound when the module that offers them loads (the page's entry module loads
// them all). Importing instead would make import cycles or chains deeper than the hashed static names can
// resolve: collectstatic settles one level of `import` per pass, and gives up after five.
export const late = {};

export const rows = new Map(); // order id -> {tr, cells..., assignBtn, glassBtn}

export function orderById(id) {
  return state.orders.find((o) => o.id === id) || null;
}

export function restoreFocus(opener) {
  (opener && opener.isConnected ? opener : $("orders-heading")).focus();
}
