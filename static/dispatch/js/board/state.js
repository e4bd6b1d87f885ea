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
  delivered: gettext("Delivered"),
  cancelled: gettext("Cancelled"),
};

export const state = {
  orders: [],
  riders: new Map(), // id -> {id, name, on_duty, lat, lng, at}
  stores: new Map(),
  loaded: false,
  known: new Set(), // order ids seen so far, to highlight new ones
  calls: null, // the CallManager, once the socket is up
  socket: null, // the board's LiveSocket
};

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
