// One order, followed: GET /api/portal/orders/<id>/ every `poll_s` seconds while the tab is visible (there is no
// merchant socket). The map shows the store, the order's area (about 1 km, never the door) and, only while the
// bag is on the way, the rider's grid cell: the server sends nothing finer. Cancel with a reason from here.
import { api, errorText } from "../../common/api.js";
import { CANCEL_REASONS, openCancel } from "../../common/cancel.js";
import { $, el } from "../../common/dom.js";
import { fmt, formatTime, gettext, ngettext } from "../../common/ui.js";
import { CANCELLABLE, cfg, makeMap, poll, STATUS } from "./common.js";
import { showAfterDelivery } from "./pod.js";

const root = $("order");
const view = { map: null, store: null, area: null, rider: null, fitted: false, data: null };
const CELL_HALF_DEG = 0.005; // half a grid cell (dispatch/grid.py CELL_DEG = 0.01)
// One key for this page's cancel: a retry after a lost answer is the same cancel, not a second one.
const cancelKey = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
const FINAL = new Set(["delivered", "returned", "cancelled"]); // nothing changes after these: the poll stops
const MERCHANT_REASONS = ["customer_request", "out_of_stock", "store_closed", "duplicate", "address_problem", "payment", "other"];

function items(it) {
  const parts = [fmt(ngettext("%(n)s item", "%(n)s items", it.count), { n: it.count })];
  if (it.sensitive_count) parts.push(it.sensitive_summary);
  return parts.join(", ");
}

function drawMap(data) {
  const L = window.L;
  if (!view.map) {
    view.map = makeMap($("order-map"), "map-note", [data.store.lat, data.store.lng], 14);
    if (!view.map) return;
  }
  const map = view.map;
  if (!view.store) {
    view.store = L.circleMarker([data.store.lat, data.store.lng], { radius: 9, color: "#0b0c0c", weight: 3, fillColor: "#1d70b8", fillOpacity: 1 })
      .bindTooltip(data.store.name).addTo(map);
  }
  const approx = data.order.approx;
  if (approx && approx.lat !== null && !view.area) {
    view.area = L.circle([approx.lat, approx.lng], { radius: 1000, color: "#f47738", weight: 2, fillOpacity: 0.12, interactive: false }).addTo(map);
  }
  const cell = data.rider_area;
  if (cell) {
    const bounds = [[cell.lat - CELL_HALF_DEG, cell.lng - CELL_HALF_DEG], [cell.lat + CELL_HALF_DEG, cell.lng + CELL_HALF_DEG]];
    if (!view.rider) view.rider = L.rectangle(bounds, { color: "#00703c", weight: 3, fillOpacity: 0.25, interactive: false }).addTo(map);
    else view.rider.setBounds(bounds);
  } else if (view.rider) {
    view.rider.remove();
    view.rider = null;
  }
  if (!view.fitted) {
    const bounds = L.latLngBounds([[data.store.lat, data.store.lng]]);
    if (view.area) bounds.extend(view.area.getBounds());
    map.fitBounds(bounds.pad(0.1), { maxZoom: 15 });
    view.fitted = true;
  }
}

function render(data) {
  view.data = data;
  const o = data.order;
  root.dataset.status = o.status;
  $("status-badge").dataset.status = o.status;
  $("status-badge").textContent = STATUS[o.status] || o.status;
  $("f-ref").textContent = o.external_ref || "—";
  $("f-store").textContent = o.store.name;
  $("f-customer").textContent = `${o.customer.display_name} · ${o.customer.phone_masked}`;
  $("f-area").textContent = o.area || "—";
  $("f-items").textContent = items(o.items);
  $("f-rider").textContent = o.rider ? o.rider.name : gettext("Not assigned yet");
  $("timeline").replaceChildren(...data.timeline.map((step) => el("li", { dataset: { step: step.status } },
    el("span", { class: "step-label" }, STATUS[step.status] || step.status), " ",
    el("time", { datetime: step.at }, formatTime(step.at, { dateStyle: "short", timeStyle: "short" })))));
  if (o.status === "cancelled" && o.cancel_reason) {
    const last = $("timeline").lastElementChild;
    if (last) last.append(" · ", CANCEL_REASONS[o.cancel_reason] || o.cancel_reason);
  }
  $("cancel-btn").hidden = !CANCELLABLE.has(o.status);
  if (data.rider_area) {
    $("rider-where").textContent = fmt(gettext("The rider's area as of %(t)s (about 1 km square, never a street)."), { t: formatTime(data.rider_area.at) });
  } else if (o.status === "picked_up") {
    $("rider-where").textContent = gettext("The rider's area shows when the rider's phone reports a recent position.");
  } else {
    $("rider-where").textContent = gettext("The rider's area shows only while the bag is on the way.");
  }
  drawMap(data);
  if (o.status === "delivered") showAfterDelivery(o.id);
  root.dataset.ready = "true";
}

async function load() {
  try {
    const data = await api(`/api/portal/orders/${cfg.order}/`);
    render(data);
    if (FINAL.has(data.order.status)) {
      if (poller) poller.stop();
      $("live-note").textContent = "";
      return;
    }
    $("live-note").textContent = fmt(gettext("Updates every %(s)s seconds. Last checked %(t)s."),
      { s: cfg.poll_s, t: formatTime(new Date(), { hour: "2-digit", minute: "2-digit", second: "2-digit" }) });
  } catch (err) {
    $("live-note").textContent = errorText(err);
    throw err;
  }
}

$("cancel-btn").addEventListener("click", (e) => {
  const o = view.data && view.data.order;
  if (!o) return;
  openCancel({
    code: o.pickup_code,
    reasons: MERCHANT_REASONS,
    opener: e.currentTarget,
    submit: (body) => api(`/api/orders/${o.id}/cancel/`, { method: "POST", body, headers: { "Idempotency-Key": cancelKey } }),
    done: () => load(),
  });
});

let poller = null;
poller = poll(load, cfg.poll_s);
