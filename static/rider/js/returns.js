// The bags the rider is bringing back to the store after a failed delivery: the store and the pickup number only
// (no customer, no destination), and the one-time code the counter takes the bag back with. Read from
// GET /api/rider/returns/ on load, after a report, and on each `returns.changed` frame; kept in memory only.
import { api } from "../../common/api.js";
import { el, toast } from "../../common/dom.js";
import { fmt, gettext } from "../../common/ui.js";
import { withBusy } from "./format.js";

const MAX_CODE_REFRESHES = 10;
const mmss = (s) => `${Math.floor(s / 60)}:${String(Math.ceil(s) % 60).padStart(2, "0")}`;

export class Returns {
  constructor(section, list) {
    this.section = section;
    this.list = list;
    this.cards = new Map(); // id -> {root, parts, timer, expires, refreshes, ret}
    this.loading = null;
    this.again = false;
  }

  async refresh() {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      try {
        do {
          this.again = false;
          this.render(await api("/api/rider/returns/"));
        } while (this.again);
      } catch (err) {
        if (err.status !== 0) toast(fmt(gettext("Could not load the bags to bring back: %(reason)s"), { reason: err.detail }), "error");
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  render(returns) {
    const ids = new Set(returns.map((r) => r.id));
    for (const [id, card] of this.cards) {
      if (ids.has(id)) continue;
      clearInterval(card.timer);
      card.root.remove();
      this.cards.delete(id);
      toast(fmt(gettext("Bag %(code)s is back at the store. Thank you!"), { code: card.ret.pickup_code }), "ok");
    }
    for (const ret of returns) {
      let card = this.cards.get(ret.id);
      if (!card) {
        card = this.build(ret);
        this.cards.set(ret.id, card);
        this.list.append(card.root);
      }
      card.ret = ret;
      card.parts.code.textContent = ret.pickup_code;
      card.parts.store.textContent = ret.store.name;
      card.parts.address.textContent = ret.store.address;
    }
    this.section.hidden = this.cards.size === 0;
    this.section.dataset.count = String(this.cards.size);
  }

  build(ret) {
    const id = ret.id;
    const p = {};
    p.code = el("p", { class: "pickup-code", "data-role": "pickup-code" });
    p.store = el("p", { class: "store-name" });
    p.address = el("p", { class: "store-address" });
    p.btn = el("button", { type: "button", class: "btn btn-primary btn-block", "data-action": "return-code" },
      gettext("Show code for the counter"));
    p.digits = el("p", { class: "big-code handoff-code", "data-role": "return-code", "aria-hidden": "true" });
    p.spoken = el("p", { class: "visually-hidden", "aria-live": "polite" });
    p.qr = el("img", { class: "qr", alt: gettext("QR code of the same counter code"), width: "240", height: "240" });
    p.countdown = el("p", { class: "countdown", "data-role": "countdown" });
    p.panel = el("div", { class: "code-panel", hidden: true },
      el("p", { class: "muted" }, gettext("The counter types or scans this to take the bag back. It works once.")),
      p.spoken, p.digits, p.qr, p.countdown);
    const card = { parts: p, timer: null, expires: 0, refreshes: 0, ret };
    p.btn.addEventListener("click", async () => {
      card.refreshes = 0;
      try { await withBusy(p.btn, () => this.loadCode(card)); } catch { /* toast shown */ }
    });
    card.root = el("li", { class: "card return-card", "data-return": String(id), "aria-labelledby": `return-h-${id}` },
      el("h3", { id: `return-h-${id}` }, el("span", { class: "badge", "data-status": "returning" }, gettext("Bring back to the store"))),
      el("p", { class: "label" }, gettext("Pickup number")), p.code, p.store, p.address,
      el("p", { class: "muted" }, gettext("The delivery did not happen. Hand the bag back at the counter with your code.")),
      p.btn, p.panel);
    return card;
  }

  async loadCode(card) {
    const p = card.parts;
    const data = await api(`/api/rider/returns/${card.ret.id}/handoff-code/`);
    p.digits.textContent = data.code;
    p.spoken.textContent = fmt(gettext("Counter code %(code)s"), { code: data.code.split("").join(" ") });
    p.qr.src = data.qr_svg;
    p.panel.hidden = false;
    p.btn.textContent = gettext("New code");
    card.expires = Date.parse(data.expires_at);
    clearInterval(card.timer);
    card.timer = setInterval(() => this.tick(card), 1000);
    this.tick(card);
    return data;
  }

  tick(card) {
    const p = card.parts;
    const left = (card.expires - Date.now()) / 1000;
    if (left > 0) {
      p.countdown.textContent = fmt(gettext("Expires in %(time)s"), { time: mmss(left) });
      return;
    }
    clearInterval(card.timer);
    card.timer = null;
    if (card.refreshes >= MAX_CODE_REFRESHES || !this.cards.has(card.ret.id)) {
      p.countdown.textContent = gettext("This code has expired. Tap “New code”.");
      p.digits.textContent = "——————";
      p.qr.removeAttribute("src");
      return;
    }
    card.refreshes += 1;
    p.countdown.textContent = gettext("Getting a new code…");
    this.loadCode(card).catch((err) => {
      p.countdown.textContent = fmt(gettext("Could not get a new code: %(reason)s"), { reason: err.detail });
      if (err.status === 404) this.refresh(); // taken back meanwhile
    });
  }

  clear() {
    for (const card of this.cards.values()) clearInterval(card.timer);
    this.cards.clear();
    this.list.replaceChildren();
    this.section.hidden = true;
  }
}
