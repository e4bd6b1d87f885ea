// A websocket that reconnects with backoff, resumes from the last seq, and shows its state.
//   const sock = new LiveSocket("/ws/rider/", { onEvent(msg) {...}, onState(state) {...} });
//   sock.send({type: "location", ...});  // queued while disconnected
// States: "connecting", "online", "reconnecting", "offline".

import { gettext } from "./ui.js";

const LABELS = {
  connecting: gettext("Connecting…"),
  online: gettext("Live"),
  reconnecting: gettext("Connection lost. Reconnecting…"),
  offline: gettext("Offline. Updates will resume when you are back online."),
};

export class LiveSocket {
  constructor(path, { onEvent = () => {}, onState = () => {}, onOpen = () => {}, statusEl = "conn" } = {}) {
    this.path = path;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onOpen = onOpen;
    this.statusEl = typeof statusEl === "string" ? document.getElementById(statusEl) : statusEl;
    this.seq = Number(sessionStorage.getItem(`seq:${path}`) || 0);
    this.outbox = [];
    this.attempt = 0;
    this.closed = false;
    window.addEventListener("online", () => {
      // Back online: an open socket is live again; a closed one reconnects.
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.setState("online");
      else this.connect();
    });
    window.addEventListener("offline", () => this.setState("offline"));
    this.connect();
  }

  setState(state) {
    this.state = state;
    if (this.statusEl) {
      this.statusEl.hidden = false;
      this.statusEl.textContent = LABELS[state] || state;
      this.statusEl.dataset.state = state;
    }
    document.body.dataset.conn = state;
    this.onState(state);
  }

  connect() {
    if (this.closed) return;
    if (this.ws && (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)) return;
    this.setState(this.attempt ? "reconnecting" : "connecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.path}`);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.setState("online");
      if (this.seq) ws.send(JSON.stringify({ type: "resume", seq: this.seq }));
      const pending = this.outbox.splice(0);
      pending.forEach((m) => ws.send(JSON.stringify(m)));
      this.onOpen();
    };
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (msg.seq && msg.seq > this.seq) {
        this.seq = msg.seq;
        sessionStorage.setItem(`seq:${this.path}`, String(this.seq));
      }
      this.onEvent(msg);
    };
    ws.onclose = (e) => {
      if (this.closed) return;
      if (e.code === 4403) { this.setState("offline"); this.statusEl && (this.statusEl.textContent = gettext("Not allowed: log in again.")); return; }
      this.attempt += 1;
      this.setState(navigator.onLine ? "reconnecting" : "offline");
      const delay = Math.min(15000, 500 * 2 ** Math.min(this.attempt, 5)) * (0.75 + Math.random() / 2);
      setTimeout(() => this.connect(), delay);
    };
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    this.outbox.push(message);
    return false;
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
    sessionStorage.removeItem(`seq:${this.path}`);
  }
}
