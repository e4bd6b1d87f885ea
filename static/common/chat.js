// Masked chat over a party's LiveSocket: the server relays chat between an order's two parties, and no phone
// number is involved.
//   const chat = new ChatPanel({ send, me: "store", order, peer: "rider" }); chat.load();
//   socket onEvent: if (chat.handle(msg)) return;
import { el } from "./dom.js";
import { ERROR_TEXT, roleName } from "./call-bar.js";
import { fmt, gettext } from "./ui.js";

// Quick replies: the English is the button's stable key (data-quick); the text shown and sent is translated.
const QUICK = {
  rider: ["I'm downstairs", "I'm at the door", "The gate code doesn't work", "Running 5 minutes late"],
  customer: ["Please leave it at the door", "I'm coming down", "Please ring the bell"],
  store: ["Your bag is ready", "One more minute, please", "Please come to the counter"],
  "rider-line": ["I need help", "I had an accident", "My bike broke down", "I'm safe now"],
  "dispatch-line": ["Help is on the way", "Are you safe?", "Call us when you can"],
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
  "I need help": gettext("I need help"),
  "I had an accident": gettext("I had an accident"),
  "My bike broke down": gettext("My bike broke down"),
  "I'm safe now": gettext("I'm safe now"),
  "Help is on the way": gettext("Help is on the way"),
  "Are you safe?": gettext("Are you safe?"),
  "Call us when you can": gettext("Call us when you can"),
};
const LOOKS_LIKE_NUMBER = /\+?\d[\d\s().-]{5,}\d/;

export class ChatPanel {
  // One conversation of this party on one order with one other party, or on a rider's line to dispatch (`line`:
  // the rider's id; no order). Messages are kept by server id: a message that arrives twice (live, then again
  // on resume or in the history) is shown once.
  constructor({ send, me, order = null, line = null, peer, title = "" }) {
    this.send = send;
    this.me = me;
    this.line = line == null ? null : Number(line);
    this.order = this.line == null ? Number(order) : null;
    this.where = this.line == null ? { order: this.order } : { line: this.line };
    this.peer = peer;
    this.messages = new Map();
    this.pending = new Map();
    this.confirmNumber = false;
    this.root = this.build(title || fmt(gettext("Messages with %(who)s"), { who: roleName(peer) }));
  }

  build(title) {
    const id = this.line == null ? `chat-${this.order}-${this.peer}` : `chat-line-${this.line}-${this.peer}`;
    this.list = el("ol", { class: "chat-list", "data-role": "chat-list", "aria-live": "polite" });
    this.input = el("input", { id: `${id}-input`, class: "chat-input", maxlength: "1000", autocomplete: "off",
      "data-role": "chat-input", oninput: () => { this.confirmNumber = false; this.warn.hidden = true; } });
    this.warn = el("p", { class: "chat-warn", "data-role": "chat-warn", role: "alert", hidden: true },
      gettext("This looks like a phone number. Your numbers are hidden in this app: send it only if you mean to share it. Press Send again to send it."));
    this.status = el("p", { class: "chat-status muted", "data-role": "chat-status", role: "status" });
    const quick = el("div", { class: "chat-quick" }, ...(QUICK[this.line == null ? this.me : `${this.me}-line`] || []).map((text) =>
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
    this.send({ type: "chat.history", ...this.where });
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
    this.send({ type: "chat.send", ...this.where, to: this.peer, text, client_id: clientId });
    this.input.value = "";
    this.render();
  }

  mine(msg) {
    const here = this.line == null ? msg.line == null && Number(msg.order) === this.order : Number(msg.line) === this.line;
    return here
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
    if (msg.type === "chat.history" && (this.line == null ? msg.line == null && Number(msg.order) === this.order
      : Number(msg.line) === this.line)) {
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

