// In-app voice calls (WebRTC) and masked chat over a party's LiveSocket. No phone number is involved: the
// server relays signalling between the two sockets of a call and chat between an order's two parties.
//   const rtc = new CallManager({ send: (m) => socket.send(m), me: "rider", onPhone: (order, to) => ... });
//   socket onEvent: if (rtc.handle(msg) || chat.handle(msg)) return;   socket onOpen: rtc.reconnected();
// Call states on the bar: calling, ringing, connected (with a timer), ended, missed, declined, busy, failed.
import { el } from "./api.js";
import { fmt, gettext } from "./ui.js";

const ROLE_TEXT = { rider: gettext("your rider"), customer: gettext("the customer"), store: gettext("the store"),
  dispatch: gettext("dispatch (emergency)") };
const OUTCOME_TEXT = {
  completed: gettext("Call ended."),
  declined: gettext("Call declined."),
  missed: gettext("Missed call."),
  cancelled: gettext("Call cancelled."),
  busy: gettext("Busy: they are on another call."),
  failed: gettext("Call failed."),
  revoked: gettext("Call ended: access to this order ended."),
};
const RING_TIMEOUT_MS = 40_000;
const ERROR_TEXT = {
  not_found: gettext("This order is no longer yours to call about."),
  no_rider: gettext("No rider has this order now."),
  call_window_closed: gettext("The after-sales window is closed: calls and messages are no longer possible."),
  wrong_state: gettext("This call is no longer active."),
  busy: gettext("Busy: they are on another call."),
};
// Only where the browser can pick the audio output (not Safari or Firefox on phones): elsewhere no button.
const CAN_PICK_OUTPUT = typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;

function roleName(role) {
  return ROLE_TEXT[role] || role;
}

function mmss(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

class Ringer {
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

export class CallManager {
  constructor({ send, me, onPhone = null }) {
    this.send = send;
    this.me = me;
    this.onPhone = onPhone;
    this.call = null; // { id, order, peer, role: "caller"|"callee", state }
    this.pc = null;
    this.stream = null;
    this.ringer = new Ringer();
    this.wake = null;
    this.bar = this.buildBar();
    document.body.append(this.bar.root);
    window.__rtc = this; // the browser tests read the peer connection's state and stats
  }

  buildBar() {
    const b = {};
    b.state = el("p", { class: "call-state", "data-role": "call-state", role: "status", "aria-live": "assertive" });
    b.timer = el("span", { class: "call-timer", "data-role": "call-timer" });
    b.help = el("p", { class: "call-help", "data-role": "call-help", hidden: true });
    b.answer = el("button", { type: "button", class: "btn btn-ok", "data-call": "answer", onclick: () => this.accept() }, gettext("Answer"));
    b.decline = el("button", { type: "button", class: "btn btn-danger", "data-call": "decline",
      onclick: () => this.end("decline") }, gettext("Decline"));
    b.mute = el("button", { type: "button", class: "btn", "data-call": "mute", "aria-pressed": "false",
      onclick: () => this.toggleMute() }, gettext("Mute"));
    b.speaker = el("button", { type: "button", class: "btn", "data-call": "speaker", "aria-pressed": "false",
      onclick: () => this.toggleSpeaker() }, gettext("Speaker"));
    b.hangup = el("button", { type: "button", class: "btn btn-danger", "data-call": "hangup",
      onclick: () => this.end("hangup") }, gettext("Hang up"));
    b.phone = el("button", { type: "button", class: "btn btn-quiet", "data-call": "phone", hidden: true,
      onclick: () => this.phoneInstead() }, gettext("Call by phone instead"));
    b.close = el("button", { type: "button", class: "btn btn-quiet", "data-call": "close",
      onclick: () => this.hideBar() }, gettext("Close"));
    b.audio = el("audio", { autoplay: true, "data-role": "call-audio" });
    b.root = el("div", { class: "call-bar", id: "call-bar", "data-state": "idle", role: "region", "aria-label": gettext("Call"),
      hidden: true },
    el("div", { class: "call-line" }, b.state, b.timer), b.help,
    el("div", { class: "call-actions" }, b.answer, b.decline, b.mute, b.speaker, b.hangup, b.phone, b.close), b.audio);
    return b;
  }

  show(state, text) {
    const b = this.bar;
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
    b.phone.hidden = live || !this.onPhone || !this.last;
    if (state !== "connected") b.timer.textContent = "";
  }

  hideBar() {
    this.bar.root.hidden = true;
    this.bar.root.dataset.state = "idle";
  }

  get busy() {
    return Boolean(this.call);
  }

  async microphone() {
    this.bar.help.hidden = true;
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    } catch (err) {
      const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
      this.bar.help.hidden = false;
      this.bar.help.textContent = denied
        ? gettext("The microphone is blocked for this page, so the call cannot start. Open the site settings (the icon left of the address bar), allow the microphone, then try again, or call by phone instead.")
        : gettext("No microphone was found. Call by phone instead.");
      return null;
    }
  }

  // --- Placing and answering ------------------------------------------------------------------------
  async start(order, to) {
    if (this.call) return;
    this.last = { order, to };
    this.call = { id: null, order, peer: to, role: "caller", state: "calling" };
    this.show("calling", fmt(gettext("Calling %(who)s…"), { who: roleName(to) }));
    this.stream = await this.microphone();
    if (!this.stream) {
      this.call = null;
      this.show("failed", gettext("Call failed: no microphone."));
      return;
    }
    this.send({ type: "call.start", order, to });
  }

  async accept() {
    if (!this.call || this.call.state !== "ringing") return;
    this.ringer.stop();
    this.show("connecting", gettext("Connecting…"));
    this.stream = await this.microphone();
    if (!this.stream) {
      this.send({ type: "call.decline", call: this.call.id });
      this.finish("failed", gettext("Call failed: no microphone."));
      return;
    }
    this.call.state = "connecting";
    this.send({ type: "call.accept", call: this.call.id });
  }

  end(action) {
    if (!this.call) return;
    if (this.call.id) this.send({ type: `call.${action}`, call: this.call.id });
    const outcome = { decline: "declined", timeout: "missed", fail: "failed" }[action] || "completed";
    this.finish(outcome, OUTCOME_TEXT[outcome]);
  }

  phoneInstead() {
    const last = this.last;
    this.hideBar();
    if (this.onPhone && last) this.onPhone(last.order, last.to);
  }

  // --- The peer connection ---------------------------------------------------------------------------
  connect(iceServers) {
    const pc = new RTCPeerConnection({ iceServers: iceServers || [] });
    this.pc = pc;
    for (const track of this.stream.getTracks()) pc.addTrack(track, this.stream);
    pc.onicecandidate = (e) => {
      if (e.candidate && this.call) this.signal("ice", { candidate: e.candidate.toJSON() });
    };
    pc.ontrack = (e) => {
      this.bar.audio.srcObject = e.streams[0] || new MediaStream([e.track]);
    };
    pc.onconnectionstatechange = () => {
      if (!this.call || this.pc !== pc) return;
      if (pc.connectionState === "connected") this.connected();
      if (pc.connectionState === "failed") {
        if (this.call.role === "caller") this.offer(true); // one ICE restart before giving up
        else this.show("connecting", gettext("Reconnecting the call…"));
      }
    };
  }

  async offer(restart = false) {
    if (!this.pc || !this.call) return;
    const desc = await this.pc.createOffer(restart ? { iceRestart: true } : {});
    await this.pc.setLocalDescription(desc);
    this.signal("offer", { sdp: { type: desc.type, sdp: desc.sdp } });
  }

  signal(kind, body = {}) {
    this.send({ type: "call.signal", call: this.call.id, kind, ...body });
  }

  connected() {
    if (this.call.state === "connected") return;
    this.call.state = "connected";
    this.since = Date.now();
    this.show("connected", fmt(gettext("Connected with %(who)s"), { who: roleName(this.call.peer) }));
    clearInterval(this.tick);
    this.tick = setInterval(() => { this.bar.timer.textContent = mmss(Date.now() - this.since); }, 500);
    this.bar.timer.textContent = "00:00";
    if ("wakeLock" in navigator) navigator.wakeLock.request("screen").then((l) => { this.wake = l; }).catch(() => {});
  }

  toggleMute() {
    if (!this.stream) return;
    const muted = this.bar.mute.getAttribute("aria-pressed") !== "true";
    for (const track of this.stream.getAudioTracks()) track.enabled = !muted;
    this.bar.mute.setAttribute("aria-pressed", String(muted));
    this.bar.mute.textContent = muted ? gettext("Unmute") : gettext("Mute");
  }

  async toggleSpeaker() {
    const on = this.bar.speaker.getAttribute("aria-pressed") !== "true";
    const audio = this.bar.audio;
    if (!CAN_PICK_OUTPUT) return; // the button is hidden there
    try {
      if (navigator.mediaDevices.enumerateDevices) {
        const outs = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "audiooutput");
        const speaker = outs.find((d) => /speaker/i.test(d.label));
        await audio.setSinkId(on && speaker ? speaker.deviceId : "");
      }
    } catch { /* the browser picks the output */ }
    audio.volume = on ? 1 : 0.6;
    this.bar.speaker.setAttribute("aria-pressed", String(on));
  }

  finish(outcome, text) {
    this.ringer.stop();
    clearInterval(this.tick);
    clearTimeout(this.ringTimer);
    if (this.pc) this.pc.close();
    this.pc = null;
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    if (this.wake) this.wake.release().catch(() => {});
    this.wake = null;
    this.bar.audio.srcObject = null;
    this.bar.mute.setAttribute("aria-pressed", "false");
    this.bar.mute.textContent = gettext("Mute");
    this.call = null;
    const state = { completed: "ended", cancelled: "ended", revoked: "ended" }[outcome] || outcome;
    this.show(state, text || OUTCOME_TEXT[outcome] || OUTCOME_TEXT.completed);
  }

  // After a socket reconnect: tell the other side where we are now, and restart ICE (the caller offers).
  reconnected() {
    if (!this.call || !this.call.id || !this.pc) return;
    this.signal("rejoin");
    if (this.call.role === "caller") this.offer(true);
  }

  // --- Frames -----------------------------------------------------------------------------------------
  handle(msg) {
    if (!msg || typeof msg.type !== "string") return false;
    const c = this.call;
    switch (msg.type) {
      case "call.calling":
        if (c && c.role === "caller" && !c.id) {
          c.id = msg.call;
          c.iceServers = msg.ice_servers;
          this.ringTimer = setTimeout(() => this.end("timeout"), RING_TIMEOUT_MS);
        }
        return true;
      case "call.ring":
        if (c) return true; // already in a call: the server answers busy to anyone else
        this.call = { id: msg.call, order: msg.order, peer: msg.from, role: "callee", state: "ringing" };
        this.last = { order: msg.order, to: msg.from };
        this.show("ringing", fmt(gettext("Incoming call from %(who)s"), { who: roleName(msg.from) }));
        this.ringer.start();
        return true;
      case "call.answered":
        if (c && c.id === msg.call && c.state === "ringing") this.finish("completed", gettext("Answered on another device."));
        return true;
      case "call.connected":
        if (c && c.id === msg.call) {
          this.connect(msg.ice_servers);
          this.show("connecting", gettext("Connecting…"));
        }
        return true;
      case "call.accepted":
        if (c && c.id === msg.call) {
          clearTimeout(this.ringTimer);
          this.connect(c.iceServers);
          this.show("connecting", gettext("Connecting…"));
          this.offer();
        }
        return true;
      case "call.signal":
        if (c && c.id === msg.call) this.onSignal(msg);
        return true;
      case "call.ended":
        if (c && c.id === msg.call) this.finish(msg.outcome, OUTCOME_TEXT[msg.outcome]);
        return true;
      case "error":
        if (typeof msg.for === "string" && msg.for.startsWith("call.")) {
          if (c && (msg.for === "call.start" || msg.call === c.id)) {
            this.finish(msg.code === "busy" ? "busy" : "failed", ERROR_TEXT[msg.code] || msg.detail);
          }
          return true;
        }
        return false;
      default:
        return false;
    }
  }

  async onSignal(msg) {
    const pc = this.pc;
    if (!pc) return;
    try {
      if (msg.kind === "offer") {
        await pc.setRemoteDescription(msg.sdp);
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        this.signal("answer", { sdp: { type: answer.type, sdp: answer.sdp } });
      } else if (msg.kind === "answer") {
        await pc.setRemoteDescription(msg.sdp);
      } else if (msg.kind === "ice" && msg.candidate) {
        await pc.addIceCandidate(msg.candidate);
      } else if (msg.kind === "rejoin" && this.call.role === "caller") {
        await this.offer(true);
      }
    } catch (err) {
      console.warn("call signal", msg.kind, err && err.name);
    }
  }
}

// --- Masked chat ----------------------------------------------------------------------------------------
// Quick replies: the English is the button's stable key (data-quick); the text shown and sent is translated.
const QUICK = {
  rider: ["I'm downstairs", "I'm at the door", "The gate code doesn't work", "Running 5 minutes late"],
  customer: ["Please leave it at the door", "I'm coming down", "Please ring the bell"],
  store: ["Your bag is ready", "One more minute, please", "Please come to the counter"],
};
const QUICK_TEXT = {
  "I'm downstairs": gettext("I'm downstairs"),
  "I'm at the door": gettext("I'm at the door"),
  "The gate code doesn't work": gettext("The gate code doesn't work"),
  "Running 5 minutes late": gettext("Running 5 minutes late"),
  "Please leave it at the door": gettext("Please leave it at the door"),
  "I'm coming down": gettext("I'm coming down"),
  "Please ring the bell": gettext("Please ring the bell"),
  "Your bag is ready": gettext("Your bag is ready"),
  "One more minute, please": gettext("One more minute, please"),
  "Please come to the counter": gettext("Please come to the counter"),
};
const LOOKS_LIKE_NUMBER = /\+?\d[\d\s().-]{5,}\d/;

export class ChatPanel {
  // One conversation of this party on one order with one other party. Messages are kept by server id: a
  // message that arrives twice (live, then again on resume or in the history) is shown once.
  constructor({ send, me, order, peer, title = "" }) {
    this.send = send;
    this.me = me;
    this.order = Number(order);
    this.peer = peer;
    this.messages = new Map();
    this.pending = new Map();
    this.confirmNumber = false;
    this.root = this.build(title || fmt(gettext("Messages with %(who)s"), { who: roleName(peer) }));
  }

  build(title) {
    const id = `chat-${this.order}-${this.peer}`;
    this.list = el("ol", { class: "chat-list", "data-role": "chat-list", "aria-live": "polite" });
    this.input = el("input", { id: `${id}-input`, class: "chat-input", maxlength: "1000", autocomplete: "off",
      "data-role": "chat-input", oninput: () => { this.confirmNumber = false; this.warn.hidden = true; } });
    this.warn = el("p", { class: "chat-warn", "data-role": "chat-warn", role: "alert", hidden: true },
      gettext("This looks like a phone number. Your numbers are hidden in this app: send it only if you mean to share it. Press Send again to send it."));
    this.status = el("p", { class: "chat-status muted", "data-role": "chat-status", role: "status" });
    const quick = el("div", { class: "chat-quick" }, ...(QUICK[this.me] || []).map((text) =>
      el("button", { type: "button", class: "btn btn-quiet chat-quick-btn", "data-quick": text,
        onclick: () => this.submit(QUICK_TEXT[text]) }, QUICK_TEXT[text])));
    const form = el("form", { class: "chat-form", novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      this.submit(this.input.value);
    } },
    el("label", { for: `${id}-input`, class: "visually-hidden" }, fmt(gettext("Message %(who)s"), { who: roleName(this.peer) })),
    this.input, el("button", { type: "submit", class: "btn btn-primary", "data-role": "chat-send" }, gettext("Send")));
    return el("section", { class: "card chat", "data-chat": this.peer, "aria-labelledby": `${id}-h` },
      el("h3", { id: `${id}-h` }, title),
      el("p", { class: "muted" }, gettext("Messages stay in this app: neither of you sees the other's number.")),
      this.list, quick, this.warn, form, this.status);
  }

  load() {
    this.send({ type: "chat.history", order: this.order });
  }

  submit(text) {
    text = (text || "").trim();
    if (!text) return;
    if (LOOKS_LIKE_NUMBER.test(text) && !this.confirmNumber) {
      this.confirmNumber = true;
      this.warn.hidden = false;
      return;
    }
    this.confirmNumber = false;
    this.warn.hidden = true;
    const clientId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    this.pending.set(clientId, text);
    this.send({ type: "chat.send", order: this.order, to: this.peer, text, client_id: clientId });
    this.input.value = "";
    this.render();
  }

  mine(msg) {
    return Number(msg.order) === this.order
      && ((msg.from === this.me && msg.to === this.peer) || (msg.from === this.peer && msg.to === this.me));
  }

  add(msg) {
    if (!this.mine(msg) || typeof msg.id !== "number") return;
    if (msg.client_id) this.pending.delete(msg.client_id);
    const known = this.messages.get(msg.id);
    this.messages.set(msg.id, { ...known, ...msg, text: msg.text ?? (known && known.text) });
  }

  handle(msg) {
    if (!msg || typeof msg.type !== "string") return false;
    if (msg.type === "chat.message") {
      const isNew = this.mine(msg) && !this.messages.has(msg.id);
      this.add(msg);
      this.render();
      if (isNew && msg.from === this.peer && navigator.vibrate) navigator.vibrate(100);
      return this.mine(msg);
    }
    if (msg.type === "chat.history" && Number(msg.order) === this.order) {
      (msg.messages || []).forEach((m) => this.add(m));
      this.render();
      return true;
    }
    if (msg.type === "error" && typeof msg.for === "string" && msg.for.startsWith("chat.")) {
      if (msg.client_id && this.pending.has(msg.client_id)) this.pending.delete(msg.client_id);
      this.status.textContent = ERROR_TEXT[msg.code] || msg.detail || gettext("Not sent.");
      this.render();
      return false; // other panels may own it
    }
    return false;
  }

  render() {
    const rows = [...this.messages.values()].sort((a, b) => a.id - b.id).map((m) =>
      el("li", { class: `chat-msg ${m.from === this.me ? "chat-mine" : "chat-theirs"}`, "data-id": String(m.id) },
        el("span", { class: "visually-hidden" }, m.from === this.me ? gettext("You: ")
          : fmt(gettext("%(who)s: "), { who: roleName(m.from) })),
        el("span", { class: "chat-text" }, m.text == null ? gettext("(no longer available)") : m.text)));
    for (const text of this.pending.values()) {
      rows.push(el("li", { class: "chat-msg chat-mine chat-pending", "data-pending": "true" },
        el("span", { class: "chat-text" }, text), gettext(" (sending…)")));
    }
    this.list.replaceChildren(...rows);
  }

  setOpen(open, why = "") {
    this.root.querySelectorAll("button, input").forEach((n) => { n.disabled = !open; });
    if (!open) this.status.textContent = why;
  }
}
