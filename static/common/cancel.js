// Cancel an order with a reason: one dialog for the store's counter and the dispatch board. The reason is a code
// (stored and audited); the note is for the people handling the order and is never stored.
//   openCancel({ code: "27", reasons: CANCEL_PARTY.store, submit: (body) => api(...), opener })
import { errorText } from "./api.js";
import { el, toast, whileBusy } from "./dom.js";
import { fmt, gettext } from "./ui.js";

export const CANCEL_REASONS = {
  customer_request: gettext("Customer asked to cancel"),
  out_of_stock: gettext("Item out of stock"),
  store_closed: gettext("Store closed"),
  no_rider: gettext("No rider available"),
  duplicate: gettext("Duplicate order"),
  address_problem: gettext("Address cannot be served"),
  payment: gettext("Payment problem"),
  other: gettext("Another reason"),
};

// Which reasons each party is offered (the server accepts any code from any party).
export const CANCEL_PARTY = {
  store: ["out_of_stock", "store_closed", "customer_request", "duplicate", "address_problem", "payment", "other"],
  dispatch: ["no_rider", "customer_request", "address_problem", "duplicate", "out_of_stock", "store_closed", "payment", "other"],
};

let ui = null;

function build() {
  const d = {};
  d.title = el("h2", { id: "cancel-title", tabindex: "-1" });
  d.reason = el("select", { id: "cancel-reason", name: "reason", required: true, "aria-describedby": "cancel-reason-error" });
  d.reasonError = el("p", { class: "field-error", id: "cancel-reason-error", hidden: true });
  d.note = el("textarea", { id: "cancel-note", name: "note", rows: "2", maxlength: "300", "aria-describedby": "cancel-note-hint" });
  d.error = el("p", { class: "error-box", id: "cancel-error", role: "alert", hidden: true });
  d.submit = el("button", { type: "submit", class: "btn btn-danger", id: "cancel-submit" }, gettext("Cancel the order"));
  d.close = el("button", { type: "button", class: "btn", "data-close": "" }, gettext("Keep the order"));
  d.form = el("form", { class: "stack", novalidate: true },
    d.title,
    el("p", {}, gettext("The customer's page says the order was cancelled and why, in general words. A rider who has it loses access at once.")),
    el("div", { class: "field" }, el("label", { for: "cancel-reason" }, gettext("Reason")), d.reasonError, d.reason),
    el("div", { class: "field" }, el("label", { for: "cancel-note" }, gettext("Note (optional)")),
      el("p", { class: "hint", id: "cancel-note-hint" }, gettext("For the people handling the order. It is not stored.")), d.note),
    d.error, el("div", { class: "row" }, d.submit, d.close));
  d.dialog = el("dialog", { class: "dialog cancel-dialog", id: "cancel-dialog", "aria-labelledby": "cancel-title" }, d.form);
  d.close.addEventListener("click", () => d.dialog.close());
  d.form.addEventListener("submit", (e) => { e.preventDefault(); send(); });
  d.dialog.addEventListener("close", () => {
    const opener = d.opener;
    d.opener = null;
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(d.dialog);
  return d;
}

async function send() {
  const d = ui;
  d.error.hidden = true;
  d.reasonError.hidden = true;
  d.reason.removeAttribute("aria-invalid");
  if (!d.reason.value) {
    d.reasonError.textContent = gettext("Choose a reason.");
    d.reasonError.hidden = false;
    d.reason.setAttribute("aria-invalid", "true");
    d.reason.focus();
    return;
  }
  const body = { reason: d.reason.value };
  if (d.note.value.trim()) body.note = d.note.value.trim();
  try {
    const result = await whileBusy(d.submit, () => d.submitFn(body), { label: gettext("Cancelling…") });
    if (result === undefined) return; // a second tap while busy
    d.dialog.close();
    toast(fmt(gettext("Order %(code)s cancelled."), { code: d.code }), "ok");
    if (d.done) d.done(result);
  } catch (err) {
    d.error.textContent = errorText(err);
    d.error.dataset.code = err.code || "";
    d.error.hidden = false;
  }
}

export function openCancel({ code, reasons, submit, done = null, opener = null }) {
  ui = ui || build();
  ui.code = code;
  ui.submitFn = submit;
  ui.done = done;
  ui.opener = opener;
  ui.form.reset();
  ui.error.hidden = true;
  ui.reasonError.hidden = true;
  ui.title.textContent = fmt(gettext("Cancel order %(code)s"), { code });
  ui.reason.replaceChildren(el("option", { value: "" }, gettext("Choose a reason")),
    ...reasons.map((r) => el("option", { value: r }, CANCEL_REASONS[r] || r)));
  ui.dialog.showModal();
  ui.reason.focus();
}
