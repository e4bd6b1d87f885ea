// Assigning (or reassigning) an order to a rider from its row.
import { api, errorText } from "../../../common/api.js";
import { isBusy, setBusy, toast } from "../../../common/dom.js";
import { fmt, gettext, sentence } from "../../../common/ui.js";
import { drawOrders } from "./map.js";
import { renderRiders } from "./riders.js";
import { renderSummary, updateRow } from "./table.js";
import { late, orderById, rows, state } from "./state.js";

export async function assign(orderId) {
  const r = rows.get(orderId);
  const order = orderById(orderId);
  if (!r || !order || isBusy(r.assignBtn)) return;
  const riderId = Number(r.select.value);
  if (!riderId) {
    toast(fmt(gettext("Choose a rider for order %(code)s first."), { code: order.pickup_code }), "error");
    r.select.focus();
    return;
  }
  if (order.rider && order.rider.id === riderId) {
    toast(sentence(fmt(gettext("Order %(code)s is already with %(rider)s"), { code: order.pickup_code, rider: order.rider.name })), "info");
    return;
  }
  const reassign = Boolean(order.rider);
  setBusy(r.assignBtn, true, { label: order.rider ? gettext("Reassigning…") : gettext("Assigning…") });
  try {
    const updated = await api(`/api/dispatch/orders/${orderId}/assign/`, { method: "POST", body: { rider: riderId } });
    r.select.dataset.dirty = "";
    setBusy(r.assignBtn, false);
    state.orders = state.orders.map((o) => (o.id === orderId ? updated : o));
    updateRow(r, updated);
    drawOrders();
    renderRiders();
    renderSummary();
    toast(sentence(fmt(reassign ? gettext("Order %(code)s reassigned to %(rider)s") : gettext("Order %(code)s assigned to %(rider)s"),
      { code: updated.pickup_code, rider: updated.rider ? updated.rider.name : gettext("the rider") })), "ok");
    late.scheduleOrders();
  } catch (err) {
    setBusy(r.assignBtn, false);
    toast(fmt(reassign ? gettext("Order %(code)s was not reassigned: %(reason)s") : gettext("Order %(code)s was not assigned: %(reason)s"),
      { code: order.pickup_code, reason: errorText(err, gettext("please try again.")) }), "error");
    late.scheduleOrders();
  }
}

late.assign = assign;
