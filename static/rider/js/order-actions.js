// What an order's screen does (mixed into OrderView): the counter code (shown on demand, renewed as it
// expires), the masked call, "I'm here", and the delivery with what the store's policy asks (pod.js).
import { api } from "../../common/api.js";
import { toast } from "../../common/dom.js";
import { fmt, gettext } from "../../common/ui.js";
import { withBusy } from "./format.js";
import { NEXT_TEXT } from "./next-action.js";

const MAX_CODE_REFRESHES = 10;

export const orderActions = {
  // --- Handoff code ---
  async showCode() {
    this.codeRefreshes = 0;
    try {
      await withBusy(this.r.codeBtn, () => this.loadCode());
    } catch { /* toast shown */ }
  },

  async loadCode() {
    const data = await api(`/api/rider/orders/${this.id}/handoff-code/`);
    const r = this.r;
    r.code.textContent = data.code;
    r.codeSpoken.textContent = fmt(gettext("Counter code %(code)s"), { code: data.code.split("").join(" ") });
    r.qr.src = data.qr_svg;
    const first = r.codePanel.hidden;
    r.codePanel.hidden = false;
    if (first) r.codePanel.scrollIntoView({ block: "center" });
    r.codeBtn.textContent = gettext(NEXT_TEXT.newCode);
    this.codeExpires = new Date(data.expires_at).getTime();
    clearInterval(this.codeTimer);
    this.codeTimer = setInterval(() => this.tick(), 1000);
    this.tick();
    return data;
  },

  tick() {
    const left = Math.round((this.codeExpires - Date.now()) / 1000);
    if (left > 0) {
      this.r.countdown.textContent = fmt(gettext("Expires in %(time)s"), { time: `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}` });
      return;
    }
    clearInterval(this.codeTimer);
    this.codeTimer = null;
    if (this.codeRefreshes >= MAX_CODE_REFRESHES || this.r.pickup.hidden) {
      this.r.countdown.textContent = gettext("This code has expired. Tap “New code”.");
      this.r.code.textContent = "——————";
      this.r.codeSpoken.textContent = gettext("Counter code expired");
      this.r.qr.removeAttribute("src");
      return;
    }
    this.codeRefreshes += 1;
    this.r.countdown.textContent = gettext("Getting a new code…");
    this.loadCode().catch((err) => {
      this.r.countdown.textContent = fmt(gettext("Could not get a new code: %(reason)s"), { reason: err.detail });
    });
  },

  hideCode() {
    clearInterval(this.codeTimer);
    this.codeTimer = null;
    this.r.codePanel.hidden = true;
    this.r.code.textContent = "";
    this.r.codeSpoken.textContent = "";
    this.r.qr.removeAttribute("src");
    this.r.codeBtn.textContent = gettext(NEXT_TEXT.code);
  },

  // --- Masked call ---
  async call(button) {
    try {
      const data = await withBusy(button, () => api(`/api/rider/orders/${this.id}/call/`, { method: "POST" }),
        { ok: gettext("Call number ready.") });
      this.proxy = data.proxy_number;
      this.r.callLink.href = `tel:${data.proxy_number}`;
      this.r.callLink.textContent = `Call ${data.proxy_number}`;
      this.r.callResult.textContent = "";
      this.r.dialBtn.hidden = !data.sandbox; // the demo's sandbox carrier only
      this.r.callPanel.hidden = false;
    } catch { /* toast shown */ }
  },

  async dial(button) {
    try {
      const data = await withBusy(button, () => api(`/api/rider/orders/${this.id}/call/dial/`, { method: "POST" }));
      // Only the proxy number is ever shown: never the callee's or the caller's own number.
      this.r.callResult.textContent = data.connected
        ? fmt(gettext("Connected to the customer through %(number)s. Your number is hidden."), { number: this.proxy || data.caller_id })
        : data.message;
      toast(data.connected ? gettext("Call connected.") : gettext("Call not connected."), data.connected ? "ok" : "error");
    } catch { /* toast shown */ }
  },

  // --- I'm here ---
  async here(button) {
    try {
      await withBusy(button, () => this.onHere());
    } catch { /* toast shown */ }
  },

  // --- Delivery ---
  async deliver(event) {
    event.preventDefault();
    const r = this.r;
    const pin = r.pin.value.trim();
    r.pinErr.textContent = "";
    r.pin.removeAttribute("aria-invalid");
    if (!r.pinBlock.hidden && !/^[0-9]{4}$/.test(pin)) {
      r.pinErr.textContent = gettext("Enter the 4-digit PIN the customer tells you.");
      r.pin.setAttribute("aria-invalid", "true");
      r.pin.focus();
      return;
    }
    const body = this.podBody(pin); // what the store's proof-of-delivery policy asks (pod.js)
    if (!body) return;
    try {
      const data = await withBusy(r.deliverBtn,
        () => api(`/api/rider/orders/${this.id}/deliver/`, { method: "POST", body }), { ok: gettext("Delivered. Thank you!") });
      r.pin.value = "";
      this.onChanged(this.id, data);
    } catch (err) {
      if (err.code === "photo_required" || err.code === "id_check_required") {
        (err.code === "photo_required" ? r.photoStatus : r.idErr).textContent = err.detail;
        return;
      }
      r.pinErr.textContent = (err.errors && err.errors.pin && err.errors.pin[0]) || err.detail;
      r.pinErr.dataset.code = err.code || "";
      r.pin.setAttribute("aria-invalid", "true");
      r.pin.focus();
    }
  },
};
