// The call bar (state, timer, answer, decline, mute, speaker, hang up, phone instead), the ringer, and the words
// for roles, outcomes and refusals of in-app calls.
import { el } from "./dom.js";
import { gettext } from "./ui.js";

export const ROLE_TEXT = { rider: gettext("your rider"), customer: gettext("the customer"), store: gettext("the store"),
  dispatch: gettext("dispatch (emergency)") };
export const OUTCOME_TEXT = {
  completed: gettext("Call ended."),
  declined: gettext("Call declined."),
  missed: gettext("Missed call."),
  cancelled: gettext("Call cancelled."),
  busy: gettext("Busy: they are on another call."),
  failed: gettext("Call failed."),
  revoked: gettext("Call ended: access to this order ended."),
};
export const RING_TIMEOUT_MS = 40_000;
export const ERROR_TEXT = {
  not_found: gettext("This order is no longer yours to call about."),
  no_rider: gettext("No rider has this order now."),
  call_window_closed: gettext("The after-sales window is closed: calls and messages are no longer possible."),
  wrong_state: gettext("This call is no longer active."),
  busy: gettext("Busy: they are on another call."),
  line_closed: gettext("Go on duty to reach dispatch."),
};
// Only where the browser can pick the audio output (not Safari or Firefox on phones): elsewhere no button.
export const CAN_PICK_OUTPUT = typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;

export function roleName(role) {
  return ROLE_TEXT[role] || role;
}

export function mmss(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

export class Ringer {
  // A short two-tone ring made with WebAudio, repeated, with vibration where the phone has it.
  start() {
    this.stop();
    const ring = () => {
      try {
        this.ctx = this.ctx || new (window.AudioContext || window.webkitAudioContext)();
        for (const [freq, at] of [[880, 0], [660, 0.35]]) {
          const osc = this.ctx.createOscillator();
          const gain = this.ctx.createGain();
          osc.frequency.value = freq;
          gain.gain.value = 0.08;
          osc.connect(gain).connect(this.ctx.destination);
          osc.start(this.ctx.currentTime + at);
          osc.stop(this.ctx.currentTime + at + 0.3);
        }
      } catch { /* no audio until the page is touched */ }
      if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
    };
    ring();
    this.timer = setInterval(ring, 2000);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (navigator.vibrate) navigator.vibrate(0);
  }
}

// The bar's elements, wired to the manager's actions.
export function buildCallBar(manager) {
  const b = {};
  b.state = el("p", { class: "call-state", "data-role": "call-state", role: "status", "aria-live": "assertive" });
  b.timer = el("span", { class: "call-timer", "data-role": "call-timer" });
  b.help = el("p", { class: "call-help", "data-role": "call-help", hidden: true });
  b.answer = el("button", { type: "button", class: "btn btn-ok", "data-call": "answer", onclick: () => manager.accept() }, gettext("Answer"));
  b.decline = el("button", { type: "button", class: "btn btn-danger", "data-call": "decline",
    onclick: () => manager.end("decline") }, gettext("Decline"));
  b.mute = el("button", { type: "button", class: "btn", "data-call": "mute", "aria-pressed": "false",
    onclick: () => manager.toggleMute() }, gettext("Mute"));
  b.speaker = el("button", { type: "button", class: "btn", "data-call": "speaker", "aria-pressed": "false",
    onclick: () => manager.toggleSpeaker() }, gettext("Speaker"));
  b.hangup = el("button", { type: "button", class: "btn btn-danger", "data-call": "hangup",
    onclick: () => manager.end("hangup") }, gettext("Hang up"));
  b.phone = el("button", { type: "button", class: "btn btn-quiet", "data-call": "phone", hidden: true,
    onclick: () => manager.phoneInstead() }, gettext("Call by phone instead"));
  b.close = el("button", { type: "button", class: "btn btn-quiet", "data-call": "close",
    onclick: () => manager.hideBar() }, gettext("Close"));
  b.audio = el("audio", { autoplay: true, "data-role": "call-audio" });
  b.root = el("div", { class: "call-bar", id: "call-bar", "data-state": "idle", role: "region", "aria-label": gettext("Call"),
    hidden: true },
  el("div", { class: "call-line" }, b.state, b.timer), b.help,
  el("div", { class: "call-actions" }, b.answer, b.decline, b.mute, b.speaker, b.hangup, b.phone, b.close), b.audio);
  return b;
}

// The bar for a call state; `canPhone`: a phone fallback is offered (when the call is over).
export function showCallBar(b, state, text, canPhone) {
  b.root.hidden = false;
  b.root.dataset.state = state;
  b.state.textContent = text;
  const live = ["calling", "ringing", "connected", "connecting"].includes(state);
  b.answer.hidden = state !== "ringing";
  b.decline.hidden = state !== "ringing";
  b.mute.hidden = !["connected", "connecting"].includes(state);
  b.speaker.hidden = b.mute.hidden || !CAN_PICK_OUTPUT;
  b.hangup.hidden = !(live && state !== "ringing");
  b.close.hidden = live;
  b.phone.hidden = live || !canPhone;
  if (state !== "connected") b.timer.textContent = "";
}
