// The dispatcher's board: a live map (stores, riders, approximate order areas), the open orders with
// assign and break-glass controls, the riders on duty, and alerts.
// Data comes from the API. Socket frames carry no PII: order events only trigger a re-fetch,
// rider.position frames (and rider.positions batches) move a marker, alert frames go to the alerts panel.
// One module per concern under board/: state, map, riders, table, filters, sync, assign, emergency, alerts.
import { api, errorText } from "../../common/api.js";
import { $, toast } from "../../common/dom.js";
import { CallManager } from "../../common/rtc.js";
import { LiveSocket } from "../../common/socket.js";
import { fmt, gettext } from "../../common/ui.js";
import { loadAlerts, onAlert } from "./board/alerts.js";
import { drawStores, fitOnce, mapInit } from "./board/map.js";
import "./board/assign.js";
import "./board/offer.js";
import "./board/emergency.js";
import "./board/exits.js";
import { lineEvent, linesReconnected, loadLines } from "./board/lines.js";
import { fillStoreFilter, filtersInit } from "./board/filters.js";
import { fetchOrders, loadOverload, loadRiders, onPosition, scheduleOrders, scheduleRiders, showOrders } from "./board/sync.js";
import { tickRows } from "./board/table.js";
import { state } from "./board/state.js";

function onEvent(msg) {
  if (!msg || !msg.type) return;
  if (msg.type === "rider.position") onPosition(msg);
  else if (msg.type === "rider.positions") (Array.isArray(msg.riders) ? msg.riders : []).forEach(onPosition);
  else if (msg.type === "alert") onAlert(msg.alert);
  else if (msg.type.startsWith("order.")) scheduleOrders();
}

async function start() {
  filtersInit();
  mapInit();
  const orders = fetchOrders(); // all three requests at once; the orders are drawn once the riders are known
  orders.catch(() => {});
  const [stores, riders] = await Promise.allSettled([api("/api/stores/"), loadRiders()]);
  if (stores.status === "fulfilled") {
    state.stores = new Map(stores.value.map((s) => [s.id, s]));
    drawStores();
    fillStoreFilter(stores.value);
  }
  if (riders.status === "rejected") toast(errorText(riders.reason, gettext("Could not load the riders.")), "error");
  try {
    await showOrders(await orders);
  } catch (err) {
    $("board-summary").textContent = fmt(gettext("Could not load the orders: %(reason)s. Retrying when the connection is back."),
      { reason: errorText(err, gettext("no connection")) });
  }
  try {
    await loadAlerts();
  } catch (err) {
    toast(errorText(err, gettext("Could not load the alerts.")), "error");
  }
  loadLines().catch((err) => toast(errorText(err, gettext("Could not load the riders' messages.")), "error"));
  state.loaded = true;
  fitOnce();
  document.body.dataset.ready = "true";
  const socket = new LiveSocket("/ws/dispatch/", {
    onEvent(msg) {
      if (state.calls.handle(msg)) return;
      if (lineEvent(msg)) return;
      onEvent(msg);
    },
    // Catch up on what happened before the socket was open (or while it was down); a list that did not change
    // is not drawn again.
    onOpen() {
      scheduleOrders(); scheduleRiders(); state.calls.reconnected(); linesReconnected();
      loadAlerts().catch(() => {});
      loadLines().catch(() => {});
    },
  });
  state.socket = socket;
  state.calls = new CallManager({ send: (m) => socket.send(m), me: "dispatch" });
  // The list also refreshes slowly, for duty changes and the "seen … ago" times.
  setInterval(() => { loadRiders().catch(() => {}); }, 30000);
  setInterval(tickRows, 30000);
  const overload = () => loadOverload().catch(() => {});
  setTimeout(overload, 1000); // after the first paint: it is a figure for the operator, not the page's content
  setInterval(overload, 30000);
}

start();
