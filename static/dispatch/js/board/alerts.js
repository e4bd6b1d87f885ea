// Alerts: persisted rows (GET /api/dispatch/alerts/?open=1 on load, `alert` frames live), open ones listed with
// SOS first, counted by kind, marked on the map, and closed by an acknowledgement with a note (the ack dialog).
// A new alert also rings the alerts bar (tone, vibration, notification); dismissing it there only silences it:
// the row stays open here until acknowledged.
import { Alerts } from "../../../common/alerts.js";
import { api, errorText } from "../../../common/api.js";
import { $, el, toast } from "../../../common/dom.js";
import { clock, fmt, gettext, ngettext } from "../../../common/ui.js";
import { late, orderById, restoreFocus, state } from "./state.js";

const TITLES = {
  sos: gettext("SOS"),
  stale_device: gettext("Silent phone"),
  late: gettext("Late order"),
  rate: gettext("Unusual activity"),
  spoof: gettext("Suspicious location"),
  unassigned: gettext("Nobody accepted"),
  login_attack: gettext("Login attack"),
};
const FLAGS = {
  teleport: gettext("jumped more than 5 km at once"),
  speed: gettext("moved faster than a rider can"),
  clock_skew: gettext("sent a time in the future"),
  frozen: gettext("repeated one exact position"),
};
const REASONS = {
  denied: gettext("location permission denied on the phone"),
  unavailable: gettext("location is off or unavailable"),
  unsupported: gettext("the phone cannot share its location"),
  offline: gettext("the app is offline"),
  waiting: gettext("no GPS fix yet"),
  idle: gettext("the app stopped sharing"),
  off_duty: gettext("went off duty"),
  "": gettext("reason unknown"),
};
const RATES = {
  reveals: gettext("%(count)s address or contact reveals by %(who)s in %(minutes)s min (limit %(limit)s)."),
  break_glass: gettext("%(count)s break-glass reveals for %(who)s in %(minutes)s min (limit %(limit)s)."),
  lookups: gettext("%(count)s counter lookups at %(who)s in %(minutes)s min (limit %(limit)s)."),
};
const ORDER_KIND = ["sos", "stale_device", "spoof", "late", "unassigned", "rate"];

export const alerts = new Map(); // id -> the open alert, as the API and the frames give it

function riderName(id) {
  const r = state.riders.get(id);
  return r ? r.name : fmt(gettext("rider #%(id)s"), { id });
}

function orderCode(id) {
  const o = orderById(id);
  return o ? o.pickup_code : `#${id}`;
}

function storeName(id) {
  const s = state.stores.get(id);
  return s ? s.name : `#${id}`;
}

function at(iso) {
  return iso ? clock(new Date(iso)) : "";
}

const REPORT_REASONS = { abusive: gettext("abusive"), threatening: gettext("threatening"), harassment: gettext("harassment"),
  unsafe_place: gettext("unsafe place"), other: gettext("other") };

export function describeAlert(a) {
  const d = a.detail || {};
  const title = TITLES[a.kind] || gettext("Alert");
  if (a.kind === "sos") {
    return [title, fmt(gettext("%(rider)s asked for help. Call them now; the marker shows where they were."), { rider: riderName(a.rider) })];
  }
  if (a.kind === "stale_device") {
    return [title, fmt(gettext("No position from %(rider)s since %(time)s (order %(order)s): %(reason)s."), {
      rider: riderName(a.rider), time: at(d.since), order: orderCode(a.order), reason: REASONS[d.reason || ""] || d.reason })];
  }
  if (a.kind === "late" && d.what === "pickup") {
    return [title, fmt(gettext("Order %(order)s was not picked up: ready since %(time)s."), { order: orderCode(a.order), time: at(d.pickup_ready_at) })];
  }
  if (a.kind === "late") {
    return [title, fmt(gettext("Order %(order)s is late: promised for %(time)s."), { order: orderCode(a.order), time: at(d.promised_at) })];
  }
  if (a.kind === "spoof") {
    const flags = (d.flags || []).map((f) => FLAGS[f] || f).join(gettext(", ")) || gettext("an impossible position");
    return [title, fmt(gettext("%(rider)s (order %(order)s) %(flags)s. The position was ignored."),
      { rider: riderName(a.rider), order: orderCode(a.order), flags })];
  }
  if (a.kind === "unassigned") {
    return [title, fmt(gettext("Nobody accepted order %(order)s. Assign it by hand."), { order: orderCode(a.order) })];
  }
  if (a.kind === "login_attack") {
    const who = a.rider != null ? riderName(a.rider) : fmt(gettext("account #%(id)s"), { id: d.user });
    return [title, fmt(ngettext("%(who)s: %(count)s failed logins from %(addresses)s address. Further tries from there now wait; the owner can still log in from their own phone.",
      "%(who)s: %(count)s failed logins from %(addresses)s addresses. Further tries from there now wait; the owner can still log in from their own phone.",
      d.addresses || 0), { who, count: d.failures, addresses: d.addresses })];
  }
  if (a.kind === "rate" && d.what === "pickup_failures") {
    return [gettext("Failed pickups"), fmt(ngettext("%(count)s failed handoff attempt at %(store)s. Check the counter.",
      "%(count)s failed handoff attempts at %(store)s. Check the counter.", d.count), { count: d.count, store: storeName(a.store) })];
  }
  if (a.kind === "rate" && d.what === "customer_report") {
    const reason = REPORT_REASONS[d.reason] || d.reason;
    return [gettext("Customer reported"), fmt(d.blocked
      ? gettext("%(rider)s reported the customer of order %(order)s (%(reason)s) and blocked them.")
      : gettext("%(rider)s reported the customer of order %(order)s (%(reason)s)."),
    { rider: riderName(a.rider), order: orderCode(a.order), reason })];
  }
  if (a.kind === "rate" && d.what === "rider_conduct") {
    return [gettext("Customer complaint"), fmt(gettext("The customer of order %(order)s reported how %(rider)s behaved."),
      { order: orderCode(a.order), rider: riderName(a.rider) })];
  }
  if (a.kind === "rate" && RATES[d.what]) {
    const who = a.rider != null ? riderName(a.rider) : storeName(a.store);
    return [title, fmt(RATES[d.what], { count: d.count, who, minutes: Math.round((d.window_s || 0) / 60), limit: d.limit })];
  }
  return [title, String(a.kind || "")];
}

// Kept in localStorage until dismissed, so a reload never silences an alert nobody looked at.
const bar = new Alerts({ persistKey: "dispatch.alerts" });
const barKey = (a) => `alert-${a.id}`;

function ordered() {
  const rank = (a) => ORDER_KIND.indexOf(a.kind) < 0 ? ORDER_KIND.length : ORDER_KIND.indexOf(a.kind);
  return [...alerts.values()].sort((x, y) => rank(x) - rank(y) || new Date(y.last_at) - new Date(x.last_at));
}

function item(a) {
  const [title, text] = describeAlert(a);
  const ack = el("button", { type: "button", class: "btn btn-quiet alert-ack", dataset: { ack: a.id } }, gettext("Acknowledge…"));
  ack.addEventListener("click", () => openAck(a.id, ack));
  const li = el("li", { class: `alert alert-${a.kind}`, dataset: { alert: a.id, kind: a.kind, what: (a.detail || {}).what || "",
    order: a.order ?? "", rider: a.rider ?? "" } },
  el("time", { datetime: a.last_at || "" }, at(a.last_at)), " ",
  el("strong", {}, `${title}: `), text,
  a.count > 1 ? el("span", { class: "alert-times" }, " ", fmt(ngettext("(%(n)s time)", "(%(n)s times)", a.count), { n: a.count })) : "",
  " ", ack);
  return li;
}

export function renderAlerts() {
  const list = ordered();
  $("alerts").replaceChildren(...list.map(item));
  $("alerts-empty").hidden = list.length > 0;
  $("alerts-count").textContent = list.length ? `(${list.length})` : "";
  const counts = new Map();
  list.forEach((a) => counts.set(a.kind, (counts.get(a.kind) || 0) + 1));
  const summary = $("alerts-counts");
  summary.replaceChildren(...[...counts].map(([kind, n]) =>
    el("span", { class: "alert-count", dataset: { kind, count: n } }, `${TITLES[kind] || kind} ${n}`)));
  summary.hidden = counts.size === 0;
  drawAlertMarkers();
}

// A frame (or a row from the list): open ones kept and rung once when new (an SOS again each time it is raised);
// acknowledged ones leave the panel, the bar and the map, wherever they were acknowledged.
export function onAlert(a, { ring = true } = {}) {
  if (!a || a.id == null) return;
  const old = alerts.get(a.id);
  if (a.acked_at) {
    alerts.delete(a.id);
    bar.ack(barKey(a));
  } else {
    alerts.set(a.id, a);
    const [title, text] = describeAlert(a);
    const shown = bar.items.get(barKey(a));
    if (ring && (!old || (a.kind === "sos" && a.count > old.count))) {
      if (old) bar.ack(barKey(a));
      bar.raise({ id: barKey(a), order: a.order ?? null, title, text });
    } else if (shown && shown.text !== text) { // its detail changed (a reason, a count): the words follow, silently
      Object.assign(shown, { title, text });
      bar.save();
      bar.render();
    }
  }
  renderAlerts();
}

export async function loadAlerts() {
  const open = await api("/api/dispatch/alerts/?open=1");
  alerts.clear();
  open.forEach((a) => alerts.set(a.id, a));
  for (const key of [...bar.items.keys()]) { // the bar forgets what was acknowledged while this page was away
    if (!alerts.has(Number(String(key).replace("alert-", "")))) bar.ack(key);
  }
  renderAlerts();
}

// --- The map: a marker where the alert is (an SOS's own position), else its rider's last one, else its order's
// area or its store.
let layer = null;
const markers = new Map();

function where(a) {
  if (a.lat != null && a.lng != null) return [a.lat, a.lng];
  const r = a.rider != null ? state.riders.get(a.rider) : null;
  if (r && r.lat != null) return [r.lat, r.lng];
  const o = a.order != null ? orderById(a.order) : null;
  if (o && o.approx && o.approx.lat != null) return [o.approx.lat, o.approx.lng];
  const s = a.store != null ? state.stores.get(a.store) : null;
  return s ? [s.lat, s.lng] : null;
}

export function drawAlertMarkers() {
  const L = window.L;
  if (!L) return;
  if (!layer && late.mapLayer) layer = late.mapLayer();
  if (!layer) return;
  for (const [id, marker] of markers) {
    if (!alerts.has(id)) {
      marker.remove();
      markers.delete(id);
    }
  }
  for (const a of alerts.values()) {
    const pos = where(a);
    let marker = markers.get(a.id);
    if (!pos) {
      if (marker) marker.remove();
      markers.delete(a.id);
      continue;
    }
    const [title, text] = describeAlert(a);
    if (!marker) {
      marker = L.marker(pos, { icon: L.divIcon({ className: `mk-alert mk-alert-${a.kind}`, html: a.kind === "sos" ? "SOS" : "!",
        iconSize: a.kind === "sos" ? [44, 28] : [26, 26] }), title, keyboard: false, zIndexOffset: a.kind === "sos" ? 2000 : 1000, pane: "alerts" })
        .bindTooltip(`${title}: ${text}`, { direction: "top" })
        .on("click", () => { const li = document.querySelector(`#alerts li[data-alert="${a.id}"] [data-ack]`); if (li) li.focus(); })
        .addTo(layer);
      markers.set(a.id, marker);
    } else {
      marker.setLatLng(pos);
      marker.setTooltipContent(`${title}: ${text}`);
    }
    const node = marker.getElement();
    if (node) Object.assign(node.dataset, { alert: a.id, kind: a.kind, lat: pos[0], lng: pos[1] });
  }
}

// --- Acknowledge with a note -----------------------------------------------------------------------------
const dialog = $("ack-dialog");
const form = $("ack-form");
const note = $("ack-note");
const noteError = $("ack-note-error");
let acking = null;
let opener = null;

function openAck(id, button) {
  const a = alerts.get(id);
  if (!a) return;
  acking = id;
  opener = button;
  const [title, text] = describeAlert(a);
  $("ack-what").textContent = `${title}: ${text}`;
  note.value = "";
  noteError.hidden = true;
  note.removeAttribute("aria-invalid");
  $("ack-error").hidden = true;
  dialog.showModal();
  note.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!note.value.trim()) {
    noteError.textContent = gettext("Write what you did about it, for example \"Called the rider, all fine\".");
    noteError.hidden = false;
    note.setAttribute("aria-invalid", "true");
    note.focus();
    return;
  }
  const submit = $("ack-submit");
  submit.disabled = true;
  try {
    const done = await api(`/api/dispatch/alerts/${acking}/ack/`, { method: "POST", body: { note: note.value } });
    dialog.close();
    onAlert(done, { ring: false });
    toast(gettext("Alert acknowledged."), "ok");
    restoreFocus($("alerts-heading"));
  } catch (err) {
    $("ack-error").textContent = errorText(err, gettext("Could not acknowledge the alert."));
    $("ack-error").hidden = false;
  } finally {
    submit.disabled = false;
  }
});

dialog.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => dialog.close()));
dialog.addEventListener("close", () => { if (opener && opener.isConnected) opener.focus(); });

// Positions move riders: their alerts' markers follow, a few times a minute.
setInterval(drawAlertMarkers, 5000);
