// The store's exits at the counter: cancel an order of its own with a reason (only while the bag is still here), and
// take back a bag from a failed delivery with its rider's one-time code (typed or scanned, as at the handoff).
import { api, ApiError, errorText } from "../../../common/api.js";
import { CANCEL_PARTY, openCancel } from "../../../common/cancel.js";
import { $, announce, el, fieldError, toast } from "../../../common/dom.js";
import { fmt, gettext } from "../../../common/ui.js";
import { showBag, verdict } from "./lookup.js";
import { late, OPEN, state, STATUS } from "./state.js";
import { refresh } from "./sync.js";

Object.assign(STATUS, {
  failed: gettext("Delivery failed: rider has it"),
  returning: gettext("Coming back: take it in"),
  returned: gettext("Returned to the store"),
});

// A returning bag's refusals, in the counter's words (the machine code beside them, as at the handoff).
const RETURN_REFUSALS = {
  wrong_rider: [gettext("Not this bag's rider"), gettext("This code is not from the rider bringing this bag back. Check the bag and the rider.")],
  expired_code: [gettext("Code expired"), gettext("The rider's code has expired. Ask them to show the new code on their phone.")],
  wrong_state: [gettext("Not coming back"), gettext("This bag is not on its way back to the store.")],
  rate_limited: [gettext("Too many failed attempts"), gettext("The counter is paused for a minute. Dispatch has been told.")],
};

// A queue card's exit buttons, by status (queue.js calls this on every update): in the card only while they apply.
export function cardExits(r, order) {
  if (!r.cancelBtn) {
    r.cancelBtn = el("button", { type: "button", class: "btn btn-quiet", "data-action": "cancel",
      onclick: (e) => cancelOrder(order.id, e.currentTarget) }, gettext("Cancel order"));
    r.takeBackBtn = el("button", { type: "button", class: "btn btn-primary", "data-action": "take-back",
      onclick: () => startTakeBack(order.id) }, gettext("Take the bag back"));
  }
  const actions = r.root.querySelector(".oc-actions");
  const place = (button, wanted, put) => { // moved only when it changes: a button keeps its focus
    if (!wanted) button.remove();
    else if (button.parentNode !== actions) put(button);
  };
  place(r.cancelBtn, OPEN.has(order.status), (b) => actions.append(b));
  place(r.takeBackBtn, order.status === "returning", (b) => actions.prepend(b));
}

export function cancelOrder(id, opener) {
  const order = state.orders.get(id);
  if (!order) return;
  openCancel({
    code: order.pickup_code, reasons: CANCEL_PARTY.store, opener,
    submit: (body) => api(`/api/pickup/orders/${id}/cancel/`, { method: "POST", body }),
    done: () => {
      announce(fmt(gettext("Order %(code)s cancelled."), { code: order.pickup_code }));
      refresh();
    },
  });
}

// The counter box in "take back" mode: the bag's number shown, then the rider's code as at the handoff.
export function startTakeBack(id) {
  const order = state.orders.get(id);
  if (!order) return;
  showBag(order);
  $("counter").scrollIntoView({ block: "start" });
  $("rider-code-input").focus();
}

// The bag shown at the counter: a returning bag is taken back, not checked for handing out.
export function bagMode(order) {
  const back = order.status === "returning";
  const button = $("check-btn");
  const label = back ? gettext("Take the bag back") : gettext("Check code");
  if (button.dataset.label !== undefined) button.dataset.label = label; // busy: its words come back after
  else button.textContent = label;
  $("counter").dataset.mode = back ? "return" : "handoff";
}

export async function takeBack(riderCode) {
  const order = state.bag;
  try {
    const result = await api(`/api/pickup/orders/${order.id}/return/`, { method: "POST", body: { rider_code: riderCode } });
    $("rider-code-input").value = "";
    showBag({ ...order, status: result.status });
    verdict("done", fmt(gettext("Bag %(code)s is back at the store"), { code: order.pickup_code }),
      gettext("Recorded as returned. Keep it aside for the shop: it is not handed out again."));
    toast(fmt(gettext("Bag %(code)s taken back."), { code: order.pickup_code }), "ok");
    await refresh();
    $("verdict").focus();
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      fieldError("rider-code-error", errorText(err));
      $("rider-code-input").focus();
      return;
    }
    const code = err instanceof ApiError ? err.code : "error";
    const [title, help] = RETURN_REFUSALS[code] || [gettext("Refused"), errorText(err)];
    verdict("bad", title, code === "rate_limited" ? err.detail : help, code);
    $("verdict").focus();
    await refresh();
  }
}

late.cardExits = cardExits;
late.bagMode = bagMode;
late.takeBack = takeBack;
