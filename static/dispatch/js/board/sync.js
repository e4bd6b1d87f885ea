// Loading: the orders (one fetch at a time; events that arrive meanwhile cause one more) and the riders,
// each debounced so a burst of socket frames costs one request.
import { api, errorText, toast } from "../../../common/api.js";
import { gettext } from "../../../common/ui.js";
import { drawOrders } from "./map.js";
import { loadRiders, renderRiders } from "./riders.js";
import { renderOrders } from "./table.js";
import { state } from "./state.js";

export async function loadOrders() {
  state.orders = await api("/api/dispatch/orders/");
  renderOrders();
  drawOrders();
  renderRiders();
}

// One fetch at a time; events that arrive meanwhile cause one more.
let inflight = null;
let again = false;
export function refreshOrders() {
  if (inflight) {
    again = true;
    return inflight;
  }
  inflight = (async () => {
    try {
      do {
        again = false;
        await loadOrders();
      } while (again);
    } catch (err) {
      toast(errorText(err, gettext("Could not refresh the orders.")), "error");
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

let ordersTimer = null;
export function scheduleOrders() {
  clearTimeout(ordersTimer);
  ordersTimer = setTimeout(refreshOrders, 150);
}

let ridersTimer = null;
export function scheduleRiders() {
  clearTimeout(ridersTimer);
  ridersTimer = setTimeout(() => loadRiders().catch(() => {}), 500);
}
