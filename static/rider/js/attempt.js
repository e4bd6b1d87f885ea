// When nobody takes the bag (mixed into OrderView): the door wait with its countdown (the customer sees the
// same one), the in-app calls made against the store's minimum, and "Can't deliver" with its four reasons.
// "Unreachable" opens only once the evidence is there; the server checks it again and its refusal is shown.
import { api } from "../../common/api.js";
import { el } from "../../common/dom.js";
import { fmt, gettext, messageFor, MESSAGES } from "../../common/ui.js";
import { withBusy } from "./format.js";

export const FAIL_TEXT = {
  unreachable: gettext("Customer unreachable"),
  refused: gettext("Customer refused the delivery"),
  wrong_address: gettext("Address wrong or not found"),
  unsafe: gettext("Not safe to deliver"),
};

export function mmss(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// What is still missing before "unreachable" may be reported (the server's own refusal words), or "".
export function missingEvidence(attempt, now = Date.now()) {
  if (!attempt) return MESSAGES.wrong_state;
  if (attempt.call_attempts < attempt.calls_needed) {
    return fmt(gettext("Call the customer in the app at least %(needed)s times first (%(made)s so far)."),
      { needed: attempt.calls_needed, made: attempt.call_attempts });
  }
  if (!attempt.door_wait || now < Date.parse(attempt.door_wait.ends_at)) return MESSAGES.wait_not_over;
  return "";
}

// The card, built once per order screen (`view`: the OrderView; its `r` gets the parts).
export function buildAttempt(view) {
  const r = view.r;
  const id = view.id;
  r.waitBtn = el("button", { type: "button", class: "btn btn-block", "data-action": "door-wait",
    onclick: (e) => view.startDoorWait(e.currentTarget) }, gettext("Start door wait"));
  r.waitClock = el("p", { class: "door-wait-clock", "data-role": "door-wait", role: "timer", "aria-live": "off", hidden: true });
  r.waitNote = el("p", { class: "muted" }, gettext("The customer sees this countdown on their tracking page."));
  r.calls = el("p", { class: "call-attempts", "data-role": "call-attempts" });
  r.attemptCall = el("button", { type: "button", class: "btn btn-block", "data-action": "attempt-call",
    onclick: () => view.rtc && view.rtc.calls.start(id, "customer") }, gettext("Call customer in the app"));
  r.failBtn = el("button", { type: "button", class: "btn btn-block btn-danger", "data-action": "cant-deliver",
    "aria-expanded": "false", onclick: () => view.toggleFail() }, gettext("Can't deliver"));

  r.failReasons = {};
  const options = Object.entries(FAIL_TEXT).map(([code, label]) => {
    const input = el("input", { type: "radio", name: `fail-reason-${id}`, id: `fail-${code}-${id}`, value: code,
      "data-reason": code });
    r.failReasons[code] = input;
    return el("div", { class: "radio" }, input, el("label", { for: `fail-${code}-${id}` }, label));
  });
  r.evidence = el("p", { class: "hint evidence", id: `fail-evidence-${id}`, "data-role": "evidence" });
  r.failReasons.unreachable.setAttribute("aria-describedby", r.evidence.id);
  r.failError = el("p", { class: "error fail-error", "data-role": "fail-error", role: "alert", hidden: true });
  r.failSubmit = el("button", { type: "submit", class: "btn btn-danger btn-block", "data-action": "fail-submit" },
    gettext("Report and end this delivery"));
  r.failForm = el("form", { class: "fail-form stack", novalidate: true, hidden: true, onsubmit: (e) => view.submitFail(e) },
    el("fieldset", {}, el("legend", {}, gettext("Why can't you deliver?")), ...options, r.evidence),
    el("p", { class: "muted" }, gettext("Your access to the address ends when you report. You then bring the bag back to the store, unless dispatch sends you out again.")),
    r.failError, r.failSubmit);
  r.attempt = el("section", { class: "card attempt", "data-role": "attempt", "aria-labelledby": `attempt-h-${id}` },
    el("h3", { id: `attempt-h-${id}` }, gettext("Nobody at the door?")),
    r.waitClock, r.waitBtn, r.waitNote, r.calls, r.attemptCall, r.failBtn, r.failForm);
  return r.attempt;
}

export const attemptActions = {
  updateAttempt(order) {
    const r = this.r;
    const attempt = order.status === "picked_up" ? order.attempt || null : null;
    this.attemptState = attempt;
    r.attempt.hidden = !attempt;
    if (!attempt) {
      clearInterval(this.waitTimer);
      this.waitTimer = null;
      return;
    }
    const made = attempt.call_attempts;
    r.calls.textContent = fmt(gettext("In-app calls to the customer: %(made)s of %(needed)s needed"),
      { made, needed: attempt.calls_needed });
    r.calls.dataset.made = String(made);
    r.calls.dataset.enough = String(made >= attempt.calls_needed);
    r.attemptCall.hidden = !(order.reach && order.reach.customer);
    r.waitBtn.hidden = Boolean(attempt.door_wait);
    r.waitBtn.textContent = fmt(gettext("Start door wait (%(time)s)"), { time: mmss(attempt.door_wait_s) });
    r.waitClock.hidden = !attempt.door_wait;
    if (attempt.door_wait) {
      r.waitClock.dataset.ends = attempt.door_wait.ends_at;
      if (!this.waitTimer) this.waitTimer = setInterval(() => this.tickDoorWait(), 500);
    }
    this.tickDoorWait();
  },

  tickDoorWait() {
    const r = this.r;
    const attempt = this.attemptState;
    if (attempt && attempt.door_wait) {
      const left = (Date.parse(attempt.door_wait.ends_at) - Date.now()) / 1000;
      const over = left <= 0;
      const text = over ? gettext("The door wait is over.")
        : fmt(gettext("Waiting at the door: %(time)s left"), { time: mmss(left) });
      if (r.waitClock.textContent !== text) r.waitClock.textContent = text;
      r.waitClock.dataset.over = String(over);
      if (over) {
        clearInterval(this.waitTimer);
        this.waitTimer = null;
      }
    }
    const missing = missingEvidence(attempt);
    const unreachable = r.failReasons.unreachable;
    unreachable.disabled = Boolean(missing);
    if (missing && unreachable.checked) unreachable.checked = false;
    r.evidence.textContent = missing ? fmt(gettext("“Customer unreachable”: %(why)s"), { why: missing })
      : gettext("“Customer unreachable” is open: you called and waited at the door.");
    r.evidence.dataset.ready = String(!missing);
  },

  async startDoorWait(button) {
    try {
      const data = await withBusy(button, () => api(`/api/rider/orders/${this.id}/door-wait/`, { method: "POST" }),
        { ok: gettext("Door wait started. The customer sees the countdown.") });
      if (this.order && this.order.attempt) this.update({ ...this.order, attempt: { ...this.order.attempt, door_wait: data.door_wait } });
      this.onChanged(this.id);
    } catch { /* toast shown */ }
  },

  toggleFail(open = this.r.failForm.hidden) {
    const r = this.r;
    r.failForm.hidden = !open;
    r.failBtn.setAttribute("aria-expanded", String(open));
    if (open) {
      this.onChanged(this.id); // the latest count of calls
      r.failForm.scrollIntoView({ block: "center" });
    }
  },

  async submitFail(event) {
    event.preventDefault();
    const r = this.r;
    const chosen = Object.values(r.failReasons).find((input) => input.checked);
    r.failError.hidden = true;
    r.failError.dataset.code = "";
    if (!chosen) {
      r.failError.textContent = gettext("Choose why you cannot deliver.");
      r.failError.hidden = false;
      r.failReasons.refused.focus();
      return;
    }
    try {
      const data = await withBusy(r.failSubmit, () => api(`/api/rider/orders/${this.id}/fail/`, {
        method: "POST", body: { reason: chosen.value } }));
      if (this.onFailed) this.onFailed(this.id, data);
    } catch (err) {
      // The server's refusal, in its own words (no calls yet, the wait not over, the order moved on).
      r.failError.textContent = err.status === 0 ? messageFor(err) : (err.detail || messageFor(err));
      r.failError.dataset.code = err.code || "";
      r.failError.hidden = false;
      this.onChanged(this.id);
    }
  },
};
