// The handoff: a dry-run check of the rider's code, then the handoff itself (undoable for a minute).
import { api, ApiError, errorText } from "../../../common/api.js";
import { $, announce, fieldError, toast, whileBusy } from "../../../common/dom.js";
import { fmt, gettext } from "../../../common/ui.js";
import { clearBag, clearVerdict, lookup, refusal, showBag, verdict } from "./lookup.js";
import { late, state } from "./state.js";
import { refresh } from "./sync.js";

export async function check(riderCode) {
  clearVerdict();
  fieldError("rider-code-error", "");
  if (!/^\d{6}$/.test(riderCode)) {
    fieldError("rider-code-error", gettext("The rider's code is 6 digits."));
    $("rider-code-input").focus();
    return;
  }
  const button = $("check-btn");
  try {
    await whileBusy(button, async () => {
      const typed = $("pickup-input").value.trim();
      if (!state.bag) await lookup(typed ? { code: typed } : { riderCode });
      if (state.bag.status === "returning") { await late.takeBack(riderCode); return; } // exits.js
      const result = await api("/api/pickup/handoff/check/", {
        method: "POST", body: { pickup_code: state.bag.pickup_code, rider_code: riderCode } });
      showBag(result.order);
      state.checked = { order: result.order, rider_code: riderCode };
      verdict("ok", fmt(gettext("Yes: bag %(code)s may go"), { code: result.order.pickup_code }), result.detail);
      $("confirm-btn").textContent = `Hand over bag ${result.order.pickup_code}`;
      $("confirm-btn").focus();
    }, { label: gettext("Checking…") });
  } catch (err) {
    const fields = (err instanceof ApiError && err.errors) || {};
    if (err instanceof ApiError && err.status === 400 && (fields.code || fields.pickup_code)) {
      fieldError("pickup-error", [fields.code, fields.pickup_code].flat().filter(Boolean)[0]);
      $("pickup-input").focus();
    } else if (err instanceof ApiError && err.status === 400) {
      fieldError("rider-code-error", errorText(err));
      $("rider-code-input").focus();
    } else {
      refusal(err);
    }
  }
}

$("handoff-form").addEventListener("submit", (e) => {
  e.preventDefault();
  check($("rider-code-input").value.replace(/\s+/g, ""));
});

$("confirm-btn").addEventListener("click", async (e) => {
  const held = state.checked;
  if (!held) return;
  try {
    const order = await whileBusy(e.currentTarget, () => api("/api/pickup/handoff/", {
      method: "POST", body: { pickup_code: held.order.pickup_code, rider_code: held.rider_code } }), { label: "Handing over…" });
    state.checked = null;
    $("rider-code-input").value = "";
    showBag(order);
    verdict("done", `Bag ${order.pickup_code} handed over`,
      `Given to ${order.rider ? order.rider.name.replace(/\.$/, "") : "the rider"}. Tapped by mistake? Undo it under “Today's handoffs” within a minute.`);
    toast(fmt(gettext("Bag %(code)s handed over."), { code: order.pickup_code }), "ok");
    await refresh();
    $("verdict").focus();
  } catch (err) {
    refusal(err);
    await refresh();
  }
});

$("cancel-btn").addEventListener("click", () => {
  clearVerdict();
  $("rider-code-input").value = "";
  $("rider-code-input").focus();
  announce("Handoff cancelled.");
});
$("bag-clear").addEventListener("click", clearBag);
$("bag-ready").addEventListener("click", (e) => state.bag && late.markReady(state.bag.id, e.currentTarget));

late.check = check;
