// Break glass: the contact lives only in the contact dialog's DOM, only while it is valid. Also the
// emergency in-app join, and the interaction log of an order for safety review.
import { api, ApiError, errorText } from "../../../common/api.js";
import { $, el, fieldError, isBusy, setBusy, toast } from "../../../common/dom.js";
import { clock, fmt, gettext } from "../../../common/ui.js";
import { late, orderById, restoreFocus, rows, state } from "./state.js";

const glass = { dialog: $("glass-dialog"), form: $("glass-form"), orderId: null, opener: null };
const contact = { dialog: $("contact-dialog"), timer: null, expires: 0, opener: null };

export function resetGlassForm() {
  glass.form.reset();
  fieldError("glass-reason-error", "", $("glass-reason"));
  fieldError("glass-confirm-error", "", $("glass-confirm"));
  $("glass-error").hidden = true;
  $("glass-error").textContent = "";
}

export function openGlass(orderId) {
  const order = orderById(orderId);
  if (!order) return;
  glass.orderId = orderId;
  glass.opener = rows.get(orderId)?.glassBtn || null;
  resetGlassForm();
  $("glass-title").textContent = fmt(gettext("Break glass: order %(code)s"), { code: order.pickup_code });
  glass.dialog.showModal();
  $("glass-reason").focus();
}

// The interaction log of one order, for safety review (roles, hashed ids, times and outcomes only).
export async function openLog(orderId, opener) {
  const dialog = $("log-dialog");
  const order = orderById(orderId);
  $("log-title").textContent = fmt(gettext("Calls and messages: order %(code)s"), { code: order ? order.pickup_code : orderId });
  $("log-error").hidden = true;
  $("log-rows").replaceChildren(el("tr", {}, el("td", { colspan: "7" }, gettext("Loading…"))));
  if (!dialog.dataset.wired) {
    dialog.dataset.wired = "1";
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  }
  dialog.addEventListener("close", () => restoreFocus(opener), { once: true });
  dialog.showModal();
  try {
    const rows = await api(`/api/dispatch/orders/${orderId}/interactions/`);
    const party = (p) => `${p.role}${p.id ? ` (${p.id.slice(0, 6)})` : ""}`;
    $("log-rows").replaceChildren(...(rows.length ? rows.map((r) => el("tr", { dataset: { kind: r.kind } },
      el("td", {}, clock(r.started_at)), el("td", {}, { call: gettext("In-app call"), phone: gettext("Phone (proxy)"), chat: gettext("Message") }[r.kind] || r.kind),
      el("td", {}, party(r.from)), el("td", {}, party(r.to)),
      el("td", {}, r.duration_s == null ? "–" : fmt(gettext("%(s)s s"), { s: r.duration_s })), el("td", {}, r.outcome || r.state),
      el("td", {}, r.ended_by || "–"))) : [el("tr", {}, el("td", { colspan: "7" }, gettext("No calls or messages yet.")))]));
  } catch (err) {
    $("log-error").hidden = false;
    $("log-error").textContent = errorText(err, gettext("Could not load the log."));
  }
}

glass.dialog.addEventListener("close", () => {
  resetGlassForm();
  if (!contact.dialog.open) restoreFocus(glass.opener);
});
glass.dialog.querySelector("[data-close]").addEventListener("click", () => glass.dialog.close());

glass.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const submit = $("glass-submit");
  if (isBusy(submit)) return;
  const reasonInput = $("glass-reason");
  const confirmInput = $("glass-confirm");
  const reason = reasonInput.value.trim();
  const reasonProblem = reason.length < 10 ? gettext("Enter a reason of at least 10 characters.") : "";
  const confirmProblem = confirmInput.checked ? "" : gettext("Confirm that this is an emergency.");
  fieldError("glass-reason-error", reasonProblem, reasonInput);
  fieldError("glass-confirm-error", confirmProblem, confirmInput);
  $("glass-error").hidden = true;
  if (reasonProblem || confirmProblem) {
    (reasonProblem ? reasonInput : confirmInput).focus();
    return;
  }
  const order = orderById(glass.orderId);
  setBusy(submit, true, { label: gettext("Revealing…") });
  try {
    const data = await api(`/api/dispatch/orders/${glass.orderId}/break-glass/`, { method: "POST", body: { reason } });
    setBusy(submit, false);
    const opener = glass.opener;
    glass.dialog.close();
    showContact(data, order, opener);
    toast(gettext("Contact revealed. This was logged."), "ok");
  } catch (err) {
    setBusy(submit, false);
    let text = errorText(err, gettext("Could not reveal the contact. Please try again."));
    if (err instanceof ApiError && err.status === 429) text = fmt(gettext("Quota reached: %(reason)s"), { reason: text });
    if (err instanceof ApiError && err.status === 400 && err.errors && err.errors.reason) {
      fieldError("glass-reason-error", text, reasonInput);
      reasonInput.focus();
    } else {
      const box = $("glass-error");
      box.textContent = text;
      box.hidden = false;
    }
    toast(text, "error");
  }
});

export function formatRemaining(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// An emergency join: with the break-glass grant live, dispatch may call the rider or the customer in the app.
document.querySelectorAll("[data-rtc-join]").forEach((button) => button.addEventListener("click", () => {
  const orderId = contact.orderId;
  contact.dialog.close();
  if (state.calls && orderId) state.calls.start(orderId, button.dataset.rtcJoin);
}));

export function showContact(data, order, opener) {
  forgetContact();
  contact.orderId = order ? order.id : null;
  contact.opener = opener;
  contact.expires = new Date(data.expires_at).getTime();
  $("contact-title").textContent = fmt(gettext("Emergency contact: order %(code)s"), { code: order ? order.pickup_code : "" });
  $("contact-name").textContent = data.name;
  const phone = $("contact-phone");
  phone.textContent = data.phone;
  phone.href = `tel:${String(data.phone).replace(/[^+\d]/g, "")}`;
  $("contact-until").textContent = clock(data.expires_at);
  const tick = () => {
    const left = contact.expires - Date.now();
    if (left <= 0) {
      contact.dialog.close();
      toast(gettext("The emergency contact expired and was cleared from this page."), "info");
      return;
    }
    $("contact-remaining").textContent = formatRemaining(left);
  };
  tick();
  contact.timer = setInterval(tick, 1000);
  contact.dialog.showModal();
  $("contact-title").focus();
}

export function forgetContact() {
  clearInterval(contact.timer);
  contact.timer = null;
  contact.expires = 0;
  $("contact-name").textContent = "";
  const phone = $("contact-phone");
  phone.textContent = "";
  phone.removeAttribute("href");
  $("contact-remaining").textContent = "";
  $("contact-until").textContent = "";
}

contact.dialog.addEventListener("close", () => {
  forgetContact();
  restoreFocus(contact.opener);
});
contact.dialog.querySelector("[data-close]").addEventListener("click", () => contact.dialog.close());
window.addEventListener("pagehide", forgetContact);

late.openGlass = openGlass;
late.openLog = openLog;
