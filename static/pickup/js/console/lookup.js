// The counter's lookup: the typed pickup number (or the rider's code) finds the bag; the verdict box says
// yes, no (in plain words, with the machine code beside it) or done.
import { api, ApiError, errorText } from "../../../common/api.js";
import { $, announce, fieldError, whileBusy } from "../../../common/dom.js";
import { gettext, messageFor } from "../../../common/ui.js";
import { itemsText, late, riderLine, spaced, state, STATUS } from "./state.js";

// A plain message for every refusal; the machine code is shown beside it.
export const REFUSALS = {
  unknown_code: [gettext("No bag with that number"), gettext("There is no bag here today with that number or code. Check it with the rider.")],
  wrong_rider: [gettext("Not this rider's bag"), gettext("This code is not from the rider assigned to this bag. Do not hand it over.")],
  not_ready: [gettext("Not ready yet"), gettext("This bag is not marked ready. Pack it and tap “Mark ready” first.")],
  already_picked_up: [gettext("Already handed over"), gettext("This bag was already given to its rider.")],
  cancelled: [gettext("Order cancelled"), gettext("This order was cancelled. Keep the bag and do not hand it over.")],
  expired_code: [gettext("Code expired"), gettext("The rider's code has expired. Ask them to show the new code on their phone.")],
  rate_limited: [gettext("Too many failed attempts"), gettext("The counter is paused for a minute. Dispatch has been told.")],
  offline: [gettext("No connection"), gettext("The counter cannot reach the server. Check the network and try again.")],
};

export function showBag(order, { quiet = false } = {}) {
  state.bag = order;
  $("bag").hidden = false;
  $("bag").dataset.order = order.id;
  $("bag").dataset.status = order.status;
  $("bag-code").textContent = order.pickup_code;
  $("bag-code-spoken").textContent = `Pickup number ${spaced(order.pickup_code)}`;
  $("bag-status").textContent = STATUS[order.status] || order.status;
  $("bag-status").dataset.status = order.status;
  $("bag-rider").textContent = riderLine(order);
  $("bag-items").textContent = `${order.items.count} item${order.items.count === 1 ? "" : "s"}: ${itemsText(order.items)}`;
  $("bag-ready").hidden = !(order.status === "created" || order.status === "assigned");
  $("bag-label").href = order.label_url;
  $("bag-heading").textContent = `Bag ${order.pickup_code} found`;
  if (!quiet) $("pickup-input").value = order.pickup_code;
  if (state.checked && state.checked.order.id !== order.id) clearVerdict();
  if (late.bagMode) late.bagMode(order); // a returning bag is taken back (exits.js)
}

export function clearBag() {
  state.bag = null;
  $("bag").hidden = true;
  if (late.bagMode) late.bagMode({ status: "" });
  clearVerdict();
  $("pickup-input").value = "";
  $("rider-code-input").value = "";
  fieldError("pickup-error", "");
  fieldError("rider-code-error", "");
  $("pickup-input").focus();
}

export function clearVerdict() {
  state.checked = null;
  $("verdict").hidden = true;
  $("verdict-actions").hidden = true;
}

export function verdict(kind, title, detail, code = "") {
  const box = $("verdict");
  box.hidden = false;
  box.dataset.kind = kind;
  $("verdict-title").textContent = title;
  $("verdict-detail").textContent = detail;
  $("verdict-code").textContent = "";
  $("verdict-code").hidden = true;
  box.dataset.code = code;
  $("verdict-actions").hidden = kind !== "ok";
  announce(`${title}. ${detail}`);
}

export function refusal(err) {
  const code = err instanceof ApiError ? err.code : "error";
  const [title, help] = REFUSALS[code] || [gettext("Refused"), messageFor(err, errorText(err))];
  const detail = code === "rate_limited" ? err.detail : help;
  verdict("bad", title, detail, code);
  $("verdict").focus();
}

export async function lookup({ code = "", riderCode = "" } = {}) {
  const query = riderCode ? `rider_code=${encodeURIComponent(riderCode)}` : `code=${encodeURIComponent(code)}`;
  const order = await api(`/api/pickup/lookup/?${query}`);
  showBag(order);
  return order;
}

$("lookup-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const code = $("pickup-input").value.trim();
  fieldError("pickup-error", "");
  clearVerdict();
  if (!code) {
    fieldError("pickup-error", gettext("Enter the pickup number the rider tells you."));
    $("pickup-input").focus();
    return;
  }
  try {
    await whileBusy($("lookup-btn"), () => lookup({ code }), { label: gettext("Finding…") });
    $("rider-code-input").focus();
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      fieldError("pickup-error", errorText(err));
      $("pickup-input").focus();
    } else {
      $("bag").hidden = true;
      state.bag = null;
      refusal(err);
    }
  }
});

$("pickup-input").addEventListener("input", () => {
  if (state.bag && $("pickup-input").value.trim().toUpperCase() !== state.bag.pickup_code) {
    state.bag = null;
    $("bag").hidden = true;
    clearVerdict();
  }
});
$("rider-code-input").addEventListener("input", () => {
  if (state.checked) clearVerdict();
  fieldError("rider-code-error", "");
});
