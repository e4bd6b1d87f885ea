// In-app voice calls (WebRTC) over a party's LiveSocket. No phone number is involved: the server relays
// signalling between the two sockets of a call.
//   const rtc = new CallManager({ send: (m) => socket.send(m), me: "rider", onPhone: (order, to) => ... });
//   socket onEvent: if (rtc.handle(msg)) return;   socket onOpen: rtc.reconnected();
// A rider's line to dispatch has no order: rtc.startLine(riderId, "dispatch") (or "rider" from the board).
// Call states on the bar: calling, ringing, connected (with a timer), ended, missed, declined, busy, failed.
import { buildCallBar, CAN_PICK_OUTPUT, ERROR_TEXT, mmss, OUTCOME_TEXT, RING_TIMEOUT_MS, Ringer, roleName,
  showCallBar } from "./call-bar.js";
import { fmt, gettext } from "./ui.js";

export class CallManager {
  constructor({ send, me, onPhone = null }) {
    this.send = send;
    this.me = me;
    this.onPhone = onPhone;
    this.call = null; // { id, order, line, name, peer, role: "caller"|"callee", state }
    this.pc = null;
    this.stream = null;
    this.ringer = new Ringer();
    this.wake = null;
    this.bar = this.buildBar();
    document.body.append(this.bar.root);
    window.__rtc = this; // the browser tests read the peer connection's state and stats
  }


  buildBar() {
    return buildCallBar(this);
  }

  show(state, text) {
    showCallBar(this.bar, state, text, Boolean(this.onPhone && this.last));
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
    await this.place({ id: null, order, line: null, peer: to, role: "caller", state: "calling" }, { order, to });
  }

  // A call on a rider's line to dispatch (no order, no phone fallback). `name`: the rider's, on the board.
  async startLine(line, to, name = "") {
    if (this.call) return;
    this.last = null;
    await this.place({ id: null, order: null, line: Number(line), name, peer: to, role: "caller", state: "calling" },
      { line: Number(line), to });
  }

  async place(call, message) {
    this.call = call;
    this.show("calling", fmt(gettext("Calling %(who)s…"), { who: peerName(call) }));
    this.stream = await this.microphone();
    if (!this.stream) {
      this.call = null;
      this.show("failed", gettext("Call failed: no microphone."));
      return;
    }
    this.send({ type: "call.start", ...message });
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
    this.show("connected", fmt(gettext("Connected with %(who)s"), { who: peerName(this.call) }));
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
        this.call = { id: msg.call, order: msg.order, line: msg.line ?? null, name: msg.name || "", peer: msg.from,
          role: "callee", state: "ringing" };
        this.last = msg.order ? { order: msg.order, to: msg.from } : null;
        this.show("ringing", fmt(gettext("Incoming call from %(who)s"), { who: peerName(this.call) }));
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


// Who is on the other end: on a rider's line, "dispatch" (not the emergency join) or the rider's name.
function peerName(call) {
  if (call.line != null && call.peer === "dispatch") return gettext("dispatch");
  if (call.line != null && call.name) return fmt(gettext("rider %(name)s"), { name: call.name });
  return roleName(call.peer);
}
