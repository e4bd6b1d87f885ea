// Alerts nobody misses: new work sounds a short tone, vibrates and (when the page is hidden and the user allowed it)
// raises a system notification, and it stays on screen in the alerts bar until acknowledged.
// Contract: the mute toggle (localStorage "alerts.muted") silences the tone; a hidden page never plays a tone of its
// own (the system notification, under the OS's do-not-disturb, is the only signal there, and none when denied).
// With `persistKey`, raised alerts survive a reload (localStorage, by id) until acknowledged.
import { gettext } from "./ui.js";

const TEXT = {
  region: gettext("New alerts"),
  ack: gettext("OK, got it"),
  sound: gettext("Sound"),
  soundOn: gettext("Alert sound is on."),
  soundOff: gettext("Alert sound is off."),
};
const MUTE_KEY = "alerts.muted";
const MAX_KEPT = 50;

function stored(key, fallback) {
  try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
}
function store(key, value) {
  try { localStorage.setItem(key, JSON.stringify(value)); } catch { /* storage disabled */ }
}

export function isMuted() {
  return stored(MUTE_KEY, false) === true;
}

let audio = null;
function audioContext() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return null;
  if (!audio) audio = new Ctx();
  return audio;
}

// A browser keeps audio suspended until the user has interacted: resume it on the first tap.
function unlockOnGesture() {
  const unlock = () => {
    const ctx = audioContext();
    if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
    window.removeEventListener("pointerdown", unlock, true);
    window.removeEventListener("keydown", unlock, true);
  };
  window.addEventListener("pointerdown", unlock, true);
  window.addEventListener("keydown", unlock, true);
}

export function playTone() {
  const ctx = audioContext();
  if (!ctx) return false;
  if (ctx.state === "suspended") ctx.resume().catch(() => {});
  const t0 = ctx.currentTime;
  [880, 1175].forEach((freq, i) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t0 + i * 0.2);
    gain.gain.exponentialRampToValueAtTime(0.3, t0 + i * 0.2 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.2 + 0.18);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0 + i * 0.2);
    osc.stop(t0 + i * 0.2 + 0.2);
  });
  return true;
}

export function askNotifications() {
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => {});
  }
}

export class Alerts {
  // onAck(alert) runs when one is acknowledged (e.g. to drop a highlight).
  constructor({ persistKey = null, onAck = null } = {}) {
    this.persistKey = persistKey;
    this.onAck = onAck;
    this.items = new Map(persistKey ? stored(persistKey, []).map((a) => [a.id, a]) : []);
    this.mount();
    unlockOnGesture();
    this.render();
  }

  mount() {
    let bar = document.getElementById("alerts-bar");
    if (!bar) {
      bar = document.createElement("section");
      bar.id = "alerts-bar";
      bar.className = "alerts-bar";
      bar.setAttribute("aria-label", TEXT.region);
      const list = document.createElement("ul");
      list.setAttribute("role", "list");
      bar.append(list);
      // In the flow right below the header (site.css), so that it pushes the page down and covers no control.
      const header = document.querySelector(".site-header");
      if (header) header.after(bar);
      else document.body.prepend(bar);
    }
    this.bar = bar;
    this.list = bar.querySelector("ul");
    this.live = document.getElementById("alerts-live") || Object.assign(document.createElement("p"), {
      id: "alerts-live", className: "visually-hidden",
    });
    this.live.setAttribute("role", "alert");
    if (!this.live.isConnected) document.body.append(this.live);

    let mute = document.getElementById("alerts-mute");
    const tools = document.getElementById("site-tools") || document.querySelector(".site-header");
    if (!mute && tools) { // pages reserve it in their header_tools block; this is the fallback
      mute = document.createElement("button");
      mute.type = "button";
      mute.id = "alerts-mute";
      mute.className = "btn btn-quiet tool-btn";
      mute.textContent = TEXT.sound;
      tools.append(mute);
    }
    if (mute) {
      mute.addEventListener("click", () => {
        const muted = !isMuted();
        store(MUTE_KEY, muted);
        this.renderMute();
        this.live.textContent = muted ? TEXT.soundOff : TEXT.soundOn;
        if (!muted) askNotifications();
      });
    }
    this.mute = mute;
    this.renderMute();
  }

  renderMute() {
    if (this.mute) this.mute.setAttribute("aria-pressed", String(!isMuted()));
  }

  raise({ id, title, text, order = null }) {
    const key = String(id);
    if (this.items.has(key)) return;
    this.items.set(key, { id: key, title, text, order, at: Date.now() });
    while (this.items.size > MAX_KEPT) this.items.delete(this.items.keys().next().value);
    this.save();
    this.render();
    this.live.textContent = `${title}: ${text}`;
    this.signal(title, text, key);
  }

  signal(title, text, tag) {
    if (navigator.vibrate) {
      try { navigator.vibrate([200, 100, 200]); } catch { /* not allowed */ }
    }
    const hidden = document.visibilityState === "hidden";
    const allowed = "Notification" in window && Notification.permission === "granted";
    if (hidden) {
      if (allowed) {
        try { new Notification(title, { body: text, tag, requireInteraction: true }); } catch { /* SW-only platforms */ }
      }
      return;
    }
    if (!isMuted()) playTone();
  }

  ack(id, { byUser = false } = {}) {
    const key = String(id);
    const alert = this.items.get(key);
    if (!alert) return;
    this.items.delete(key);
    this.save();
    this.render();
    if (byUser) askNotifications(); // a user gesture: the only moment a permission prompt is fair
    if (this.onAck) this.onAck(alert);
  }

  has(id) {
    return this.items.has(String(id));
  }

  save() {
    if (this.persistKey) store(this.persistKey, [...this.items.values()]);
  }

  render() {
    const rows = [...this.items.values()].map((a) => {
      const li = document.createElement("li");
      li.className = "alerts-item";
      li.dataset.alert = a.id;
      if (a.order !== null && a.order !== undefined) li.dataset.order = String(a.order);
      const body = document.createElement("p");
      const strong = document.createElement("strong");
      strong.textContent = `${a.title}: `;
      body.append(strong, a.text);
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-primary";
      button.dataset.ack = "";
      button.textContent = TEXT.ack;
      button.addEventListener("click", () => this.ack(a.id, { byUser: true }));
      li.append(body, button);
      return li;
    });
    this.list.replaceChildren(...rows);
    this.bar.hidden = rows.length === 0;
  }
}
