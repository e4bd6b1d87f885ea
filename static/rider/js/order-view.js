// One order's screen: pickup at the counter, destination at the tier the rider holds, masked call,
// and delivery with the customer's PIN. Built once per order and patched on every update, so that
// typing, focus and open panels survive live updates.
import { el } from "../../common/dom.js";
import { ChatPanel } from "../../common/chat.js";
import { DestinationMap } from "./map.js";
import {
  ACTIVE, TIER_HELP, TIER_LABELS, distanceM, formatDistance, statusLabel,
} from "./format.js";
import { fmt, gettext } from "../../common/ui.js";
import { DOOR_PART_LABELS, NEXT_TEXT, copyText, mapsLink } from "./next-action.js";
import { orderActions } from "./order-actions.js";
import { attemptActions, buildAttempt } from "./attempt.js";
import { openReport } from "./safety.js";
import { buildPod, podActions } from "./pod.js";

export class OrderView {
  constructor(order, { cfg, onBack, onChanged, onHere, lastFix, rtc = null, onFailed = null }) {
    this.onFailed = onFailed; // (id, {id, status}) after "Can't deliver" was accepted
    this.id = order.id;
    this.rtc = rtc; // { calls: CallManager, send }: in-app calls and chat over the rider's socket
    this.cfg = cfg;
    this.onChanged = onChanged;
    this.onHere = onHere;
    this.lastFix = lastFix || null;
    this.codeTimer = null;
    this.codeRefreshes = 0;
    this.r = {};
    this.root = this.build(onBack);
    this.update(order);
  }

  build(onBack) {
    const r = this.r;
    const id = this.id;

    r.back = el("button", { type: "button", class: "btn btn-quiet back-btn", onclick: onBack }, gettext("← All orders"));
    r.title = el("h2", { class: "order-title", id: `order-title-${id}`, tabindex: "-1" });
    r.status = el("span", { class: "badge status-badge", "data-role": "status" });

    // --- Pickup at the store ---
    r.pickupCode = el("p", { class: "pickup-code", "data-role": "pickup-code" });
    r.storeName = el("p", { class: "store-name" });
    r.storeAddress = el("p", { class: "store-address" });
    r.codeBtn = el("button", { type: "button", class: "btn btn-primary btn-block", "data-action": "handoff-code",
      onclick: () => this.showCode() }, gettext(NEXT_TEXT.code));
    // Large digits for the counter's eyes; a screen reader gets them one by one (a <p> cannot carry a label).
    r.code = el("p", { class: "big-code handoff-code", "data-role": "handoff-code", "aria-hidden": "true" });
    r.codeSpoken = el("p", { class: "visually-hidden", "aria-live": "polite" });
    r.qr = el("img", { class: "qr", alt: "QR code of the same counter code", width: "240", height: "240" });
    r.countdown = el("p", { class: "countdown", "data-role": "countdown" });
    r.codePanel = el("div", { class: "code-panel", hidden: true },
      el("p", { class: "muted" }, gettext("Show this to the counter staff. It works once and changes when it expires.")),
      r.codeSpoken, r.code, r.qr, r.countdown);
    r.pickup = el("section", { class: "card pickup", "aria-labelledby": `pickup-h-${id}` },
      el("h3", { id: `pickup-h-${id}` }, gettext("Pick up")),
      el("p", { class: "label" }, gettext("Pickup number")), r.pickupCode,
      r.storeName, r.storeAddress, r.codePanel);

    // --- Destination ---
    r.tier = el("span", { class: "badge tier-badge", "data-role": "tier" });
    r.tierHelp = el("p", { class: "muted tier-help" });
    r.destText = el("p", { class: "dest-text", "data-role": "dest-text" });
    r.distance = el("p", { class: "distance", "data-role": "distance" });
    r.parts = el("dl", { class: "door-parts", "data-role": "door-parts", hidden: true });
    r.mapNote = el("p", { class: "map-note", role: "status", hidden: true });
    r.map = el("div", { class: "dest-map", "data-role": "map", role: "region", "aria-label": gettext("Map of the destination"),
      hidden: true });
    r.navigate = el("a", { class: "btn btn-block navigate", "data-role": "navigate", hidden: true }, gettext("Navigate (maps app)"));
    r.hereBtn = el("button", { type: "button", class: "btn btn-block here-btn", "data-action": "here", hidden: true,
      onclick: (e) => this.here(e.currentTarget) }, gettext("I'm here"));
    r.dest = el("section", { class: "card destination", "aria-labelledby": `dest-h-${id}` },
      el("h3", { id: `dest-h-${id}` }, gettext("Destination "), r.tier), r.destText, r.parts, r.distance, r.tierHelp,
      r.map, r.mapNote, r.navigate, r.hereBtn);
    this.destMap = new DestinationMap(r.map, r.mapNote, this.cfg);

    // --- Customer (masked) ---
    r.custName = el("p", { class: "cust-name", "data-role": "customer-name" });
    r.custPhone = el("p", { class: "cust-phone", "data-role": "customer-phone" });
    // Only when the customer turned number protection off: their real number, to dial directly.
    r.directCall = el("a", { class: "btn btn-block", "data-role": "customer-direct-call", hidden: true });
    r.callBtn = el("button", { type: "button", class: "btn btn-block", "data-action": "call",
      onclick: (e) => this.call(e.currentTarget) }, gettext("Call by phone instead"));
    r.rtcCall = el("button", { type: "button", class: "btn btn-primary btn-block", "data-action": "rtc-call-customer",
      onclick: () => this.rtc && this.rtc.calls.start(this.id, "customer") }, gettext("Call customer in the app"));
    r.rtcStore = el("button", { type: "button", class: "btn btn-block", "data-action": "rtc-call-store",
      onclick: () => this.rtc && this.rtc.calls.start(this.id, "store") }, gettext("Call the store in the app"));
    r.rtcWhy = el("p", { class: "muted", "data-role": "rtc-why", hidden: true });
    this.chats = this.rtc ? {
      customer: new ChatPanel({ send: this.rtc.send, me: "rider", order: this.id, peer: "customer" }),
      store: new ChatPanel({ send: this.rtc.send, me: "rider", order: this.id, peer: "store" }),
    } : null;
    r.callLink = el("a", { class: "btn btn-block call-link", "data-role": "proxy-link" });
    r.dialBtn = el("button", { type: "button", class: "btn btn-block", "data-action": "dial",
      onclick: (e) => this.dial(e.currentTarget) }, gettext("Place call (sandbox)"));
    r.callResult = el("p", { class: "call-result", "data-role": "call-result", role: "status" });
    r.callPanel = el("div", { class: "call-panel", hidden: true },
      el("p", { class: "muted" }, gettext("Calls go through a delivery number. Neither of you sees the other's phone.")),
      r.callLink, r.dialBtn, r.callResult);
    r.report = el("button", { type: "button", class: "btn btn-quiet btn-block", "data-action": "report-customer",
      "aria-haspopup": "dialog", onclick: () => openReport(this.id) }, gettext("Report or block this customer"));
    r.customer = el("section", { class: "card customer", "aria-labelledby": `cust-h-${id}` },
      el("h3", { id: `cust-h-${id}` }, gettext("Customer")), r.custName, r.custPhone, r.rtcCall, r.rtcStore, r.rtcWhy,
      r.directCall, r.callBtn, r.callPanel, r.report);

    // --- Items ---
    r.items = el("ul", { class: "items", "data-role": "items" });
    r.sensitive = el("p", { class: "sensitive", "data-role": "sensitive", hidden: true });
    r.itemsCard = el("section", { class: "card", "aria-labelledby": `items-h-${id}` },
      el("h3", { id: `items-h-${id}` }, gettext("In the bag")), r.items, r.sensitive);

    // --- Delivery ---
    const pinId = `pin-${id}`;
    r.pin = el("input", { id: pinId, name: "pin", class: "pin-input", inputmode: "numeric", pattern: "[0-9]{4}",
      maxlength: "4", autocomplete: "off", required: true, "aria-describedby": `pin-hint-${id} pin-err-${id}` });
    r.pinErr = el("p", { class: "field-error", id: `pin-err-${id}`, role: "alert" });
    r.deliverBtn = el("button", { type: "submit", class: "btn btn-primary btn-block", "data-action": "deliver" }, gettext("Deliver"));
    r.pinBlock = el("div", { class: "pin-block" }, el("label", { for: pinId }, gettext("Delivery PIN")),
      el("p", { class: "muted", id: `pin-hint-${id}` }, gettext("Ask the customer for their 4-digit PIN.")),
      r.pin, r.pinErr);
    r.deliverForm = el("form", { class: "deliver-form", novalidate: true, onsubmit: (e) => this.deliver(e) },
      ...buildPod(this), r.pinBlock, r.deliverBtn);
    r.deliver = el("section", { class: "card deliver", "aria-labelledby": `deliver-h-${id}` },
      el("h3", { id: `deliver-h-${id}` }, gettext("Hand over")), r.deliverForm);
    r.done = el("section", { class: "card done", role: "status" });

    // --- The next action, pinned at the bottom in thumb reach ---
    r.navNext = el("a", { class: "btn navigate", "data-action": "navigate-next", hidden: true }, NEXT_TEXT.navigate);
    r.callNext = el("button", { type: "button", class: "btn", "data-action": "call-next",
      onclick: (e) => { this.r.customer.scrollIntoView({ block: "center" }); this.call(e.currentTarget); } }, NEXT_TEXT.call);
    r.deliverNext = el("button", { type: "button", class: "btn btn-primary", "data-action": "deliver-next",
      onclick: () => { this.r.deliver.scrollIntoView({ block: "center" }); if (!this.r.pinBlock.hidden) this.r.pin.focus({ preventScroll: true }); } },
    NEXT_TEXT.deliver);
    r.next = el("div", { class: "next-action", "data-role": "next-action", role: "group", "aria-label": NEXT_TEXT.group },
      r.codeBtn, r.navNext, r.callNext, r.deliverNext);

    return el("article", { class: "order", "data-order": String(id) },
      r.back, el("div", { class: "order-head" }, r.title, r.status),
      r.done, r.pickup, r.dest, r.deliver, buildAttempt(this), r.customer, ...(this.chats ? [this.chats.customer.root, this.chats.store.root] : []),
      r.itemsCard, r.next);
  }

  // Chat frames for this order; history again after a reconnect (messages are kept by id: no duplicates).
  handleChat(msg) {
    if (!this.chats) return false;
    return Boolean(this.chats.customer.handle(msg) | this.chats.store.handle(msg));
  }

  loadChats() {
    if (this.chats) Object.values(this.chats).forEach((c) => c.load());
  }

  update(order) {
    const r = this.r;
    this.order = order;
    const status = order.status;
    r.title.textContent = fmt(gettext("Pickup %(code)s · %(store)s"), { code: order.pickup_code, store: order.store.name });
    r.status.textContent = statusLabel(status);
    r.status.dataset.status = status;
    this.root.dataset.status = status;

    r.pickup.hidden = !["created", "assigned", "ready"].includes(status);
    r.pickupCode.textContent = order.pickup_code;
    r.storeName.textContent = order.store.name;
    r.storeAddress.textContent = order.store.address;
    if (r.pickup.hidden) this.hideCode();

    const dest = order.destination || {};
    r.tier.textContent = TIER_LABELS[dest.tier] || dest.tier || "";
    r.tier.dataset.tier = dest.tier || "";
    this.root.dataset.tier = dest.tier || "";
    r.destText.textContent = dest.parts ? (dest.parts.street || "") : (dest.text || "");
    this.renderParts(dest.parts);
    r.tierHelp.textContent = TIER_HELP[dest.tier] || "";
    const open = ACTIVE.includes(status);
    r.dest.hidden = !open && status !== "delivered";
    const located = (dest.tier === "street" || dest.tier === "door") && dest.lat !== undefined && dest.lat !== null;
    r.map.hidden = !located;
    r.navigate.hidden = !located;
    if (located) {
      r.navigate.href = mapsLink(dest.lat, dest.lng);
      r.navNext.href = r.navigate.href;
      this.destMap.show(dest, this.lastFix).catch((err) => {
        r.mapNote.hidden = false;
        r.mapNote.textContent = err.message;
      });
    } else {
      this.destMap.destroy();
      r.mapNote.hidden = true;
      r.navigate.removeAttribute("href");
      r.navNext.removeAttribute("href");
    }
    r.navNext.hidden = !(located && status === "picked_up");
    r.hereBtn.hidden = !(status === "picked_up" && dest.tier !== "door");
    this.updateDistance();

    r.custName.textContent = order.customer.display_name;
    r.custPhone.textContent = order.customer.phone_masked;
    const phone = open ? order.customer.phone : null;
    r.directCall.hidden = !phone;
    if (phone) {
      r.directCall.href = `tel:${phone.replace(/[^+\d]/g, "")}`;
      r.directCall.textContent = fmt(gettext("Call %(phone)s (the customer allows it)"), { phone });
    } else {
      r.directCall.removeAttribute("href");
      r.directCall.textContent = "";
    }
    r.customer.hidden = !open && status !== "delivered";
    const reach = order.reach || {};
    r.rtcCall.hidden = !reach.customer;
    r.rtcStore.hidden = !reach.store;
    r.rtcWhy.hidden = Boolean(reach.customer);
    r.rtcWhy.textContent = gettext("In-app calls and messages end when your access to this order ends.");
    if (this.chats) {
      this.chats.customer.setOpen(Boolean(reach.customer), gettext("Messages are closed: your access to this order ended."));
      this.chats.store.setOpen(Boolean(reach.store), gettext("Messages are closed: your access to this order ended."));
      if (!this.chatsLoaded) {
        this.chatsLoaded = true;
        this.loadChats();
      }
    }

    r.items.replaceChildren(...(order.items.lines || []).map((line) => el("li", {}, `${line.qty} × ${line.name}`)));
    r.sensitive.hidden = !order.items.sensitive_count;
    r.sensitive.textContent = order.items.sensitive_summary || "";

    r.deliver.hidden = status !== "picked_up";
    this.updatePod(order);
    this.updateAttempt(order);
    r.codeBtn.hidden = r.pickup.hidden;
    r.callNext.hidden = status !== "picked_up";
    r.deliverNext.hidden = status !== "picked_up";
    r.next.hidden = !open;
    r.done.hidden = !["delivered", "cancelled"].includes(status);
    r.done.textContent = status === "delivered"
      ? gettext("Delivered. This order's details will be removed from this phone shortly.")
      : gettext("This order was cancelled. Return the bag to the store.");
  }

  renderParts(parts) {
    const r = this.r;
    r.parts.hidden = !parts;
    if (!parts) { r.parts.replaceChildren(); return; }
    r.parts.replaceChildren(...Object.entries(DOOR_PART_LABELS).filter(([key]) => parts[key]).map(([key, label]) => {
      const value = el("dd", {}, el("span", { class: "part-value" }, parts[key]));
      if (key === "door_code") {
        value.append(" ", el("button", { type: "button", class: "btn btn-quiet copy-btn", "data-copy": "",
          onclick: () => copyText(parts[key]) }, NEXT_TEXT.copy));
      }
      return el("div", { class: "door-part", "data-part": key }, el("dt", { class: "part-label" }, label), value);
    }));
  }

  setFix(fix) {
    this.lastFix = fix;
    this.destMap.updateRider(fix);
    this.updateDistance();
  }

  updateDistance() {
    const dest = (this.order && this.order.destination) || {};
    let m = dest.distance_m;
    if (this.lastFix && dest.lat !== undefined && dest.lat !== null) {
      m = distanceM(this.lastFix.lat, this.lastFix.lng, dest.lat, dest.lng);
    }
    // At the area tier the server sends a coarse step to a point near, never at, the door: show its words.
    const approx = dest.distance_approx && dest.distance_text && (dest.lat === undefined || dest.lat === null);
    this.r.distance.textContent = approx ? `${dest.distance_text} away` : formatDistance(m);
    this.r.distance.hidden = m === null || m === undefined;
  }

  focus() {
    this.r.title.focus();
  }

  destroy() {
    clearInterval(this.codeTimer);
    clearInterval(this.waitTimer);
    this.destMap.destroy();
    this.root.remove();
  }
}

Object.assign(OrderView.prototype, orderActions, attemptActions, podActions);
