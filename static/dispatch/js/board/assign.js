// Assigning (or reassigning) an order: the row's button opens a dialog of suggested riders, best first, with
// their distance to the store, the orders they carry, an ETA and their fleet; one tap assigns. Below them, any
// other rider on duty can be chosen by name. (Each suggestion keeps a slot, `[data-offer-slot]`, for an
// "Offer" button beside "Assign".)
import { api, errorText } from "../../../common/api.js";
import { el, isBusy, setBusy, toast } from "../../../common/dom.js";
import { fmt, formatDistance, gettext, ngettext, sentence } from "../../../common/ui.js";
import { drawOrders } from "./map.js";
import { renderRiders } from "./riders.js";
import { renderSummary, updateRow } from "./table.js";
import { late, orderById, restoreFocus, rows, state } from "./state.js";

const ui = {};

function dialog() {
  if (ui.dialog) return ui.dialog;
  ui.title = el("h2", { id: "assign-title", tabindex: "-1" });
  ui.note = el("p", { class: "muted", id: "assign-note" },
    gettext("Best first: the ride to the store at 4 m/s, plus 5 minutes for each order the rider carries."));
  ui.status = el("p", { class: "muted", role: "status", id: "assign-status" });
  ui.list = el("ol", { class: "suggestions", id: "assign-suggestions", "aria-labelledby": "assign-title" });
  ui.otherLabel = el("label", { for: "assign-other" }, gettext("Another rider on duty"));
  ui.other = el("select", { id: "assign-other", name: "rider" });
  ui.otherBtn = el("button", { type: "button", class: "btn", id: "assign-other-btn" }, gettext("Assign"));
  ui.otherBtn.addEventListener("click", () => {
    const riderId = Number(ui.other.value);
    if (!riderId) {
      toast(gettext("Choose a rider first."), "error");
      ui.other.focus();
      return;
    }
    assignTo(ui.orderId, riderId, ui.otherBtn);
  });
  ui.close = el("button", { type: "button", class: "btn btn-quiet", "data-close": "" }, gettext("Close"));
  ui.dialog = el("dialog", { class: "dialog assign-dialog", id: "assign-dialog", "aria-labelledby": "assign-title" },
    el("div", { class: "stack" }, ui.title, ui.note, ui.status, ui.list,
      el("div", { class: "field assign-other" }, ui.otherLabel, el("div", { class: "row" }, ui.other, ui.otherBtn)),
      el("div", { class: "row" }, ui.close)));
  ui.close.addEventListener("click", () => ui.dialog.close());
  ui.dialog.addEventListener("close", () => restoreFocus(ui.opener));
  document.querySelector("main").append(ui.dialog);
  return ui.dialog;
}

function minutes(seconds) {
  return Math.max(1, Math.round(seconds / 60));
}

function fleetName(fleet) {
  return fleet === "platform" ? gettext("Platform") : gettext("Store's own");
}

// One suggestion: "1. Ravi K. · Platform — 1.2 km · 1 order · about 9 min" and its one-tap button.
function suggestionItem(order, s) {
  const current = order.rider && order.rider.id === s.rider;
  const facts = [
    s.distance_m == null ? gettext("no recent position") : formatDistance(s.distance_m),
    s.load ? fmt(ngettext("%(n)s order", "%(n)s orders", s.load), { n: s.load }) : gettext("free"),
    s.eta_s == null ? null : fmt(gettext("about %(min)s min to the store"), { min: minutes(s.eta_s) }),
  ].filter(Boolean);
  const button = el("button", { type: "button", class: "btn btn-primary", disabled: current,
    "aria-label": current ? null : fmt(gettext("Assign %(name)s"), { name: s.name }),
    dataset: { suggestAssign: s.rider } }, current ? gettext("Current rider") : gettext("Assign"));
  button.addEventListener("click", () => assignTo(order.id, s.rider, button));
  return el("li", { class: "suggestion", dataset: { rider: s.rider, fleet: s.fleet } },
    el("div", { class: "suggestion-who" },
      el("span", { class: "rider-name" }, s.name), " ",
      el("span", { class: "badge fleet-badge", dataset: { fleet: s.fleet } }, fleetName(s.fleet))),
    el("div", { class: "muted suggestion-facts" }, facts.join(" · ")),
    el("div", { class: "row suggestion-actions" }, button, el("span", { dataset: { offerSlot: s.rider, order: order.id } })));
}

function otherOptions(order) {
  const riders = [...state.riders.values()].filter((r) => r.on_duty !== false)
    .sort((a, b) => a.name.localeCompare(b.name));
  return [el("option", { value: "" }, riders.length ? gettext("Choose a rider") : gettext("No riders on duty")),
    ...riders.map((r) => el("option", { value: r.id, disabled: Boolean(order.rider && order.rider.id === r.id) },
      order.rider && order.rider.id === r.id ? fmt(gettext("%(name)s (current)"), { name: r.name }) : r.name))];
}

// The row's button: open the dialog and load the suggestions.
export async function assign(orderId) {
  const order = orderById(orderId);
  const r = rows.get(orderId);
  if (!order || !r || isBusy(r.assignBtn)) return;
  dialog();
  ui.orderId = orderId;
  ui.opener = r.assignBtn;
  ui.title.textContent = fmt(order.rider ? gettext("Reassign order %(code)s") : gettext("Assign order %(code)s"),
    { code: order.pickup_code });
  ui.status.textContent = gettext("Loading suggestions…");
  ui.list.replaceChildren();
  ui.other.replaceChildren(...otherOptions(order));
  ui.dialog.showModal();
  ui.title.focus();
  try {
    const suggestions = await api(`/api/dispatch/orders/${orderId}/suggestions/`);
    if (ui.orderId !== orderId) return; // another order's dialog meanwhile
    ui.list.replaceChildren(...suggestions.map((s) => suggestionItem(order, s)));
    ui.status.textContent = suggestions.length
      ? fmt(ngettext("%(n)s rider suggested.", "%(n)s riders suggested.", suggestions.length), { n: suggestions.length })
      : gettext("No rider on duty may take this order.");
  } catch (err) {
    ui.status.textContent = errorText(err, gettext("Could not load suggestions."));
  }
}

async function assignTo(orderId, riderId, button) {
  const order = orderById(orderId);
  const r = rows.get(orderId);
  if (!order || !r || isBusy(button)) return;
  if (order.rider && order.rider.id === riderId) {
    toast(sentence(fmt(gettext("Order %(code)s is already with %(rider)s"), { code: order.pickup_code, rider: order.rider.name })), "info");
    return;
  }
  const reassign = Boolean(order.rider);
  setBusy(button, true, { label: reassign ? gettext("Reassigning…") : gettext("Assigning…") });
  try {
    const updated = await api(`/api/dispatch/orders/${orderId}/assign/`, { method: "POST", body: { rider: riderId } });
    setBusy(button, false);
    state.orders = state.orders.map((o) => (o.id === orderId ? updated : o));
    updateRow(r, updated);
    drawOrders();
    renderRiders();
    renderSummary();
    if (ui.dialog && ui.dialog.open && ui.orderId === orderId) ui.dialog.close();
    toast(sentence(fmt(reassign ? gettext("Order %(code)s reassigned to %(rider)s") : gettext("Order %(code)s assigned to %(rider)s"),
      { code: updated.pickup_code, rider: updated.rider ? updated.rider.name : gettext("the rider") })), "ok");
    late.scheduleOrders();
  } catch (err) {
    setBusy(button, false);
    toast(fmt(reassign ? gettext("Order %(code)s was not reassigned: %(reason)s") : gettext("Order %(code)s was not assigned: %(reason)s"),
      { code: order.pickup_code, reason: errorText(err, gettext("please try again.")) }), "error");
    late.scheduleOrders();
  }
}

late.assign = assign;
