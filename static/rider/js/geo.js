// The rider's position: watchPosition while on duty (without an order, one position every 30 s at most, for
// dispatch to rank free riders), sent over the socket,
// or queued in IndexedDB and replayed over HTTP in order when the socket is down or the phone is
// offline. Each message carries a strictly increasing seq that survives reloads.
import { api } from "../../common/api.js";
import { dequeuePing, queuePing, queuedPings } from "./store.js";
import { fmt, gettext } from "../../common/ui.js";

const SEQ_KEY = "rider.seq";
const RETRY_MS = 5000;
const SPARSE_MS = 30000; // on duty without an order: the server stores one position per 30 s at most

const REASONS = {
  seq: gettext("arrived out of order"),
  stale: gettext("older than the last one"),
  future: gettext("the phone's clock is ahead"),
  speed: gettext("an implausible jump"),
  frozen: gettext("the position seems frozen"),
  inaccurate: gettext("recorded, not precise enough to reveal the address"),
  late: gettext("recorded, sent too late to reveal the address"),
  off_duty: gettext("you are off duty"),
  invalid: gettext("the phone sent an invalid position"),
  sparse: gettext("not stored: without an order, dispatch gets your position every 30 seconds"),
  bad_timestamp: gettext("the phone's clock looks wrong"),
};

export function nextSeq() {
  // Milliseconds since 1970, or one more than the last: increasing even if storage was cleared.
  let last = 0;
  try { last = Number(localStorage.getItem(SEQ_KEY) || 0); } catch { /* storage disabled */ }
  const seq = Math.max(last + 1, Date.now());
  try { localStorage.setItem(SEQ_KEY, String(seq)); } catch { /* storage disabled */ }
  return seq;
}

function body(ping) {
  const out = { lat: ping.lat, lng: ping.lng, accuracy: ping.accuracy, timestamp: ping.timestamp, seq: ping.seq };
  if (ping.here) out.here = true;
  return out;
}

export function describeAck(ack) {
  if (ack.accepted && !ack.reason) return gettext("accepted");
  const why = REASONS[ack.reason] || REASONS[ack.code] || ack.detail || ack.reason || ack.code || "";
  return ack.accepted ? fmt(gettext("accepted (%(why)s)"), { why }) : fmt(gettext("not used: %(why)s"), { why });
}

export class Tracker {
  // activeOrders(): ids of the orders this position serves; onState({state, text}); onFix(fix);
  // onAck(ack); onQueue(n)
  constructor({ socket, activeOrders, onState, onFix, onAck, onQueue }) {
    this.socket = socket;
    this.activeOrders = activeOrders;
    this.onState = onState;
    this.onFix = onFix;
    this.onAck = onAck;
    this.onQueue = onQueue;
    this.watchId = null;
    this.lastFix = null;
    this.lastTs = 0;
    this.queued = 0;
    this.draining = null;
    this.retry = null;
    this.state = "idle";
    window.addEventListener("online", () => this.drain());
    this.refreshQueue();
    this.watchPermission();
  }

  setState(state, text) {
    this.state = state;
    this.onState({ state, text });
    this.reportState();
  }

  // Tell dispatch what location sharing is doing (permission denied, location off, ...), so a silent phone's
  // alert gives the reason. Sent on each change, and again on every (re)connect (`reconnected`): the server
  // marks the rider "offline" when the socket closes. Over HTTP when the socket is down but the phone is online.
  reportState() {
    if (this.state === this.reported) return;
    this.reported = this.state;
    if (this.socketOpen()) this.socket.send({ type: "geo.state", state: this.state });
    else if (navigator.onLine) api("/api/rider/location/state/", { method: "POST", body: { state: this.state } }).catch(() => { this.reported = null; });
    else this.reported = null;
  }

  reconnected() {
    this.reported = null;
    this.reportState();
  }

  async watchPermission() {
    if (!navigator.permissions || !navigator.permissions.query) return;
    try {
      const status = await navigator.permissions.query({ name: "geolocation" });
      const react = () => {
        if (status.state === "denied") this.denied();
        else if (this.wanted && this.state === "denied") { this.state = "idle"; this.start(); }
      };
      status.addEventListener("change", react);
    } catch { /* the Permissions API is optional */ }
  }

  // Watch only while on duty; `sparse` (no active order): send a position every SPARSE_MS at most.
  want(on, why = gettext("Your position is not shared."), { sparse = false } = {}) {
    this.wanted = on;
    this.sparse = on && sparse;
    if (on) this.start();
    else {
      this.stop();
      this.setState("idle", why);
    }
  }

  start() {
    // Once denied, asking again is pointless until the permission changes (see watchPermission).
    if (this.watchId !== null || this.state === "denied") return;
    if (!("geolocation" in navigator)) {
      this.setState("unsupported", gettext("This browser cannot share your location. Use “I'm here” at the door."));
      return;
    }
    this.setState("waiting", gettext("Finding your position…"));
    this.watchId = navigator.geolocation.watchPosition(
      (pos) => this.position(pos),
      (err) => this.error(err),
      { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 },
    );
  }

  stop() {
    if (this.watchId !== null) navigator.geolocation.clearWatch(this.watchId);
    this.watchId = null;
  }

  denied() {
    this.stop();
    this.setState("denied", gettext("Location is blocked, so the address cannot be revealed as you get close."));
  }

  error(err) {
    if (err.code === 1) this.denied();
    else if (err.code === 3) this.setState("waiting", gettext("Still looking for a GPS fix… Try near a window or outside."));
    else this.setState("unavailable", gettext("Your position is unavailable right now. Check that location is on."));
  }

  async position(pos) {
    const ts = Math.round(pos.timestamp || Date.now());
    if (ts <= this.lastTs) return; // the same fix reported twice
    this.lastTs = ts;
    const c = pos.coords;
    const fix = { lat: c.latitude, lng: c.longitude, accuracy: c.accuracy, timestamp: ts };
    this.lastFix = fix;
    const metres = Math.round(c.accuracy);
    if (this.sparse) {
      this.setState("sharing", fmt(gettext("No active order: dispatch sees your position every 30 seconds, to offer you jobs (±%(metres)s m)."), { metres }));
      if (ts - (this.sparseSent || 0) < SPARSE_MS) return;
      this.sparseSent = ts;
    } else {
      this.setState("sharing", fmt(gettext("Sharing your position (±%(metres)s m)."), { metres }));
    }
    this.onFix(fix);
    await this.submit({ ...fix, seq: nextSeq() });
  }

  socketOpen() {
    const ws = this.socket.ws;
    return navigator.onLine && this.socket.state === "online" && ws && ws.readyState === WebSocket.OPEN;
  }

  async submit(ping) {
    // A live position never overtakes queued ones: the server orders fixes by seq and time.
    if (this.socketOpen() && !this.queued && !this.draining) {
      this.socket.send({ type: "location", ...body(ping) });
      return;
    }
    await queuePing({ ...ping, orders: this.activeOrders() });
    await this.refreshQueue();
    this.drain();
  }

  // "I'm here": the last known fix, now, with here=true, over HTTP for an immediate answer.
  async here() {
    const fix = this.lastFix;
    if (!fix) throw Object.assign(new Error(""), { detail: gettext("No position known yet. Call dispatch if you are at the door.") });
    const ping = { ...fix, timestamp: Math.max(Date.now(), fix.timestamp + 1), seq: nextSeq(), here: true };
    await this.drain();
    try {
      const ack = await api("/api/rider/location/", { method: "POST", body: body(ping) });
      this.ack({ ...ack, via: "http" });
      return ack;
    } catch (err) {
      if (err.status === 0) {
        await queuePing({ ...ping, orders: this.activeOrders() });
        await this.refreshQueue();
      }
      throw err;
    }
  }

  async refreshQueue() {
    try {
      this.queued = (await queuedPings()).length;
    } catch {
      this.queued = 0;
    }
    this.onQueue(this.queued);
    return this.queued;
  }

  // Replay the queue over HTTP, oldest first, one at a time. Stops (and retries later) while offline.
  drain() {
    if (!this.draining) {
      // Cleared only once settled (a pass that ends at once must not clear it before it is set).
      this.draining = this.drainPass().finally(() => { this.draining = null; });
    }
    return this.draining;
  }

  async drainPass() {
    let held = false;
    for (;;) {
      if (!navigator.onLine) break;
      const pings = await queuedPings();
      if (!pings.length) break;
      const ping = pings[0];
      try {
        const ack = await api("/api/rider/location/", { method: "POST", body: body(ping) });
        this.ack({ ...ack, via: "http" });
      } catch (err) {
        if (err.status === 0 || err.status >= 500 || err.status === 401 || err.status === 403 || err.status === 429) {
          held = true; // keep it, try again later
          break;
        }
        // A refusal (bad input, off duty): resending would be refused again.
        this.ack({ seq: ping.seq, accepted: false, code: err.code, detail: err.detail, via: "http" });
      }
      await dequeuePing(ping.key);
      await this.refreshQueue();
    }
    // A ping queued while this pass was finishing is picked up by the next one.
    if ((await this.refreshQueue()) && navigator.onLine) this.scheduleRetry(held ? RETRY_MS : 100);
  }

  scheduleRetry(ms) {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.drain(), ms);
  }

  ack(message) {
    this.lastAck = { ...message, at: Date.now() };
    this.onAck(this.lastAck);
  }
}
