// An order's exits on the board: cancel with a reason (until delivered), and send a failed delivery out again
// with the rider who holds the bag while the store's retry window is open. table.js calls `late.rowExits` on
// every row update; the buttons are added to the row's Assign cell once.
import { api, errorText } from "../../../common/api.js";
import { CANCEL_PARTY, openCancel } from "../../../common/cancel.js";
import { el, toast, whileBusy } from "../../../common/dom.js";
import { clock, fmt, gettext } from "../../../common/ui.js";
import { late, state, STATUS } from "./state.js";

Object.assign(STATUS, { failed: gettext("Delivery failed"), returning: gettext("Going back to the store") });

export const FAIL_REASONS = {
  unreachable: gettext("customer unreachable"),
  refused: gettext("customer refused"),
  wrong_address: gettext("address wrong or not found"),
  unsafe: gettext("not safe to deliver"),
};
const CANCELLABLE = new Set(["created", "offered", "assigned", "ready", "picked_up"]);

export function rowExits(r, order) {
  if (!r.cancelBtn) {
    r.exitNote = el("span", { class: "exit-note", "data-role": "exit-note", hidden: true });
    r.cancelBtn = el("button", { type: "button", class: "btn btn-quiet", "data-action": "cancel" }, gettext("Cancel"));
    r.cancelBtn.addEventListener("click", () => cancel(r.order.id, r.cancelBtn));
    r.retryBtn = el("button", { type: "button", class: "btn btn-primary", "data-action": "retry" }, gettext("Retry delivery"));
    r.retryBtn.addEventListener("click", () => retry(r.order.id, r.retryBtn));
    r.status.append(r.exitNote);
    r.assign.append(el("div", { class: "exit-actions" }, r.retryBtn, r.cancelBtn));
  }
  const failed = order.status === "failed";
  const away = failed || order.status === "returning";
  const open = failed && order.retry_until && Date.parse(order.retry_until) > Date.now();
  r.retryBtn.hidden = !open;
  r.cancelBtn.hidden = !CANCELLABLE.has(order.status);
  r.exitNote.hidden = !away;
  r.exitNote.textContent = !away ? "" : [
    FAIL_REASONS[order.fail_reason] || order.fail_reason,
    open ? fmt(gettext("retry until %(time)s"), { time: clock(order.retry_until) }) : "",
  ].filter(Boolean).join(" · ");
  if (away) { // the bag is with its rider: no reassignment from here
    r.assignBtn.hidden = true;
    r.assignNote.hidden = false;
  }
}

function cancel(id, opener) {
  const order = state.orders.find((o) => o.id === id);
  if (!order) return;
  openCancel({
    code: order.pickup_code, reasons: CANCEL_PARTY.dispatch, opener,
    submit: (body) => api(`/api/dispatch/orders/${id}/cancel/`, { method: "POST", body }),
    done: () => late.scheduleOrders(),
  });
}

async function retry(id, button) {
  const order = state.orders.find((o) => o.id === id);
  if (!order) return;
  try {
    await whileBusy(button, () => api(`/api/dispatch/orders/${id}/retry/`, { method: "POST" }), { label: gettext("Sending…") });
    toast(fmt(gettext("Order %(code)s is out for delivery again with %(rider)s."),
      { code: order.pickup_code, rider: order.rider ? order.rider.name : gettext("the rider") }), "ok");
  } catch (err) {
    toast(fmt(gettext("Order %(code)s was not sent out again: %(reason)s"), { code: order.pickup_code, reason: errorText(err) }), "error");
  }
  late.scheduleOrders();
}

late.rowExits = rowExits;
