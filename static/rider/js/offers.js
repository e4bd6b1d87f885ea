// Offers: a job put to this rider, shown as a card with a countdown until they accept or decline it. The job is
// its outline only (store, area, distances, items, pay): the customer's details come with the order, once accepted.
// The alert (a tone and a vibration) repeats until every open offer is answered or has expired. Frames:
// `offer.new` and `offer.closed` on the rider socket; the list itself always comes from GET /api/rider/offers/.
import { isMuted, playTone } from "../../common/alerts.js";
import { api, errorText } from "../../common/api.js";
import { announce, el, isBusy, setBusy, toast } from "../../common/dom.js";
import { fmt, formatDistance, gettext, ngettext } from "../../common/ui.js";

const RING_EVERY_MS = 4000;
const TEXT = {
  heading: gettext("New job offers"),
  accept: gettext("Accept job"),
  decline: gettext("Decline job"),
  accepting: gettext("Accepting…"),
  declining: gettext("Declining…"),
  accepted: gettext("Job accepted. It is now in your orders."),
  declined: gettext("Job declined."),
  expired: gettext("The offer expired."),
  withdrawn: gettext("The offer was taken back by dispatch."),
  newOffer: gettext("New job offer"),
};

function money(pay) {
  try {
    return new Intl.NumberFormat(document.documentElement.lang || "en", { style: "currency", currency: pay.currency })
      .format(Number(pay.amount));
  } catch {
    return `${pay.amount} ${pay.currency}`;
  }
}

export class Offers {
  // onAccepted(orderId): the order is now the rider's (the page fetches it).
  constructor({ before, onAccepted }) {
    this.onAccepted = onAccepted;
    this.offers = new Map(); // offer id -> {job, deadline (ms, local clock), card, left}
    this.section = el("section", { id: "offers-section", class: "offers", "aria-labelledby": "offers-heading", hidden: true },
      el("h2", { id: "offers-heading" }, TEXT.heading));
    this.list = el("ul", { class: "offer-list", role: "list" });
    this.section.append(this.list);
    before.before(this.section);
    this.ringTimer = null;
    this.tickTimer = null;
  }

  // A socket frame; true when it was an offer's.
  handle(msg) {
    if (msg.type === "offer.new") {
      this.refresh({ alert: true });
      return true;
    }
    if (msg.type === "offer.closed") {
      const known = this.offers.get(Number(msg.offer));
      if (known && msg.status === "withdrawn") toast(TEXT.withdrawn, "info");
      this.remove(Number(msg.offer));
      return true;
    }
    return false;
  }

  async refresh({ alert = false } = {}) {
    let jobs;
    try {
      jobs = await api("/api/rider/offers/");
    } catch {
      return; // offline: the socket's resume or the next frame brings it back
    }
    const ids = new Set(jobs.map((j) => j.id));
    for (const id of [...this.offers.keys()]) if (!ids.has(id)) this.remove(id);
    let fresh = false;
    for (const job of jobs) {
      if (this.offers.has(job.id)) continue;
      fresh = true;
      this.add(job);
    }
    if (fresh && alert) announce(TEXT.newOffer);
    this.sync();
  }

  add(job) {
    const entry = { job, deadline: Date.now() + job.expires_in_s * 1000 };
    entry.left = el("span", { class: "offer-left", "aria-live": "off" });
    const accept = el("button", { type: "button", class: "btn btn-primary offer-accept", dataset: { accept: job.id } },
      TEXT.accept);
    const decline = el("button", { type: "button", class: "btn offer-decline", dataset: { decline: job.id } }, TEXT.decline);
    accept.addEventListener("click", () => this.answer(job.id, "accept", accept));
    decline.addEventListener("click", () => this.answer(job.id, "decline", decline));
    const facts = [
      job.area,
      job.pickup_distance_m !== null ? fmt(gettext("%(distance)s to the store"), { distance: formatDistance(job.pickup_distance_m) }) : null,
      job.trip_distance_m !== null ? fmt(gettext("trip about %(distance)s"), { distance: formatDistance(job.trip_distance_m) }) : null,
      fmt(ngettext("%(count)s item", "%(count)s items", job.items), { count: job.items }),
    ].filter(Boolean);
    entry.card = el("li", { class: "offer-card card", dataset: { offer: job.id } },
      el("p", { class: "offer-store" }, el("strong", {}, job.store.name)),
      el("p", { class: "offer-facts" }, facts.join(" · ")),
      job.pay ? el("p", { class: "offer-pay" }, fmt(gettext("Pay: %(amount)s"), { amount: money(job.pay) })) : null,
      el("p", { class: "offer-timer" }, entry.left),
      el("div", { class: "offer-actions" }, accept, decline));
    this.offers.set(job.id, entry);
    this.list.append(entry.card);
    this.tick();
  }

  remove(id) {
    const entry = this.offers.get(id);
    if (!entry) return;
    entry.card.remove();
    this.offers.delete(id);
    this.sync();
  }

  async answer(id, verb, button) {
    if (!this.offers.has(id) || isBusy(button)) return;
    setBusy(button, true, { label: verb === "accept" ? TEXT.accepting : TEXT.declining });
    try {
      const job = await api(`/api/rider/offers/${id}/${verb}/`, { method: "POST" });
      this.remove(id);
      toast(verb === "accept" ? TEXT.accepted : TEXT.declined, "ok");
      if (verb === "accept" && job.order) this.onAccepted(job.order);
    } catch (err) {
      setBusy(button, false);
      toast(errorText(err), "error");
      if (err.status === 404 || err.status === 409) this.remove(id);
    }
  }

  // The countdown, once a second, and the repeating alert while anything is open.
  tick() {
    const now = Date.now();
    for (const [id, entry] of this.offers) {
      const left = Math.ceil((entry.deadline - now) / 1000);
      if (left <= 0) {
        toast(TEXT.expired, "info");
        this.remove(id);
        continue;
      }
      entry.left.textContent = fmt(ngettext("%(n)s second left", "%(n)s seconds left", left), { n: left });
      entry.card.dataset.urgent = left <= 10 ? "true" : "false";
    }
    this.sync();
  }

  ring() {
    if (navigator.vibrate) {
      try { navigator.vibrate([300, 150, 300]); } catch { /* not allowed */ }
    }
    if (document.visibilityState !== "hidden" && !isMuted()) playTone();
    document.body.dataset.offerRings = String(Number(document.body.dataset.offerRings || 0) + 1);
  }

  sync() {
    const open = this.offers.size > 0;
    this.section.hidden = !open;
    if (open && !this.tickTimer) this.tickTimer = setInterval(() => this.tick(), 1000);
    if (open && !this.ringTimer) {
      this.ring();
      this.ringTimer = setInterval(() => this.ring(), RING_EVERY_MS);
    }
    if (!open) {
      clearInterval(this.tickTimer);
      clearInterval(this.ringTimer);
      this.tickTimer = this.ringTimer = null;
    }
  }
}
