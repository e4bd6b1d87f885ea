// The customer's tracking page: progress, the delivery PIN, a masked call, and who saw the address.
// The link's token is the only key. Socket frames carry no PII: order events trigger a re-fetch,
// rider.approaching says how far away the rider is.
import { api, ApiError } from "../../common/api.js";
import { $, el, isBusy, toast } from "../../common/dom.js";
import { CallManager } from "../../common/rtc.js";
import { ChatPanel } from "../../common/chat.js";
import { LiveSocket } from "../../common/socket.js";
import { fmt, gettext } from "../../common/ui.js";
import { dayAndClock, headline, renderApproach, renderCall, renderConsent, renderPin, renderSeen, renderSteps, setText,
  telLine } from "./track/view.js";
import { renderExit } from "./track/exit.js";
import { renderAfterDelivery } from "./track/feedback.js";
import { setupMessages } from "./track/messages.js";

const { token, sw } = JSON.parse($("track-config").textContent);
const base = `/api/track/${encodeURIComponent(token)}/`;
setupMessages({ base, sw });

let data = null;
let approach = null;

let chats = null;
function renderInApp(d) {
  const reach = d.reach || {};
  const orderId = d.order_id;
  $("rtc-call-rider").hidden = !reach.rider;
  $("rtc-call-store").hidden = !reach.store;
  const why = $("rtc-why");
  const closed = !reach.rider && !reach.store;
  why.hidden = !closed;
  why.textContent = d.status === "cancelled" ? gettext("This order was cancelled: in-app calls and messages are closed.")
    : d.status === "delivered" ? gettext("The after-sales window is over: in-app calls and messages are closed.")
      : gettext("You can call and message your rider once a rider has your order.");
  if (!chats && orderId) {
    chats = { rider: new ChatPanel({ send, me: "customer", order: orderId, peer: "rider" }),
      store: new ChatPanel({ send, me: "customer", order: orderId, peer: "store" }) };
    $("chats").replaceChildren(chats.rider.root, chats.store.root);
    Object.values(chats).forEach((c) => c.load());
  }
  if (chats) {
    chats.rider.setOpen(Boolean(reach.rider), gettext("Messages with your rider are closed: they no longer have your order."));
    chats.store.setOpen(Boolean(reach.store), gettext("Messages with the store are closed: the after-sales window is over."));
  }
}

function render(d) {
  $("track-order").textContent = fmt(gettext("Order %(code)s from %(store)s"), { code: d.pickup_code, store: d.store });
  setText($("headline"), headline(d));
  renderSteps(d);
  renderApproach(d, approach);
  renderPin(d);
  renderCall(d);
  renderInApp(d);
  renderConsent(d);
  renderSeen(d);
  renderExit(d);
  renderAfterDelivery(d, base, load);
  $("expires").textContent = fmt(gettext("This page works until %(when)s."), { when: dayAndClock(d.expires_at) });
  document.body.dataset.status = d.status;
  document.body.dataset.ready = "true";
}

// After delivery the server names when the rider's remaining access ends: read again then, so the list
// says it ended on time even if the live frame is late (the server counts an end already past as ended).
let deadlineTimer = null;
function watchDeadline(d) {
  clearTimeout(deadlineTimer);
  deadlineTimer = null;
  if (!d.access_ends_at) return;
  const wait = Date.parse(d.access_ends_at) - Date.now() + 300; // this phone's clock may differ: at least 1 s
  deadlineTimer = setTimeout(load, Math.min(Math.max(wait, 1000), 86_400_000));
}

let inflight = null;
let again = false;
let failures = 0;
let retryTimer = null;
async function load() {
  if (inflight) {
    again = true;
    return inflight;
  }
  clearTimeout(retryTimer);
  inflight = (async () => {
    try {
      do {
        again = false;
        data = await api(base);
        render(data);
        watchDeadline(data);
      } while (again);
      failures = 0;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        location.reload(); // the link expired: the server shows the expired page
        return;
      }
      failures += 1; // what the toast promises: read again, 1 s, 2 s, 4 s … at most 30 s apart
      retryTimer = setTimeout(load, Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5)));
      if (failures === 1) toast((err && err.detail) || gettext("Could not load your delivery. Retrying…"), "error");
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

$("call-btn").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  if (isBusy(button)) return;
  const out = $("call-result");
  button.setAttribute("aria-busy", "true");
  button.textContent = gettext("Connecting…");
  out.replaceChildren(el("p", {}, gettext("Setting up a private line…")));
  try {
    const call = await api(`${base}call/`, { method: "POST" });
    const lines = [telLine(call.proxy_number)];
    if (call.connected) {
      lines.push(el("p", { class: "call-ok" }, gettext("Connected to your rider. Your number is hidden.")));
    } else {
      lines.push(el("p", {}, gettext("Tap the number to call. Your rider will not see your number.")));
    }
    out.replaceChildren(...lines);
  } catch (err) {
    const text = (err && err.detail) || gettext("The call could not be set up. Please try again.");
    out.replaceChildren(el("p", { class: "error" }, text));
    toast(text, "error");
  } finally {
    button.removeAttribute("aria-busy");
    button.textContent = gettext("Call by phone instead");
  }
});

$("consent-btn").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  if (isBusy(button)) return;
  const card = $("consent-card");
  const out = $("consent-result");
  button.setAttribute("aria-busy", "true");
  try {
    const res = await api(`${base}consent/`, { method: "POST", body: { marketing: false } });
    card.dataset.withdrawn = "true";
    out.replaceChildren(el("p", { class: "call-ok" }, gettext("Done. The shop will not send you offers or news.")));
    if (data) {
      data.consent = res.consent;
      renderConsent(data);
    }
    load(); // a read already in flight may predate the withdrawal: read again after it
  } catch (err) {
    const text = (err && err.detail) || gettext("That did not work. Please try again.");
    out.replaceChildren(el("p", { class: "error" }, text));
    toast(text, "error");
  } finally {
    button.removeAttribute("aria-busy");
  }
});

let timer = null;
function scheduleLoad() {
  clearTimeout(timer);
  timer = setTimeout(load, 150);
}

function send(message) {
  return socket.send(message);
}

const calls = new CallManager({ send, me: "customer", onPhone: () => $("call-btn").click() });
document.querySelectorAll("[data-rtc-call]").forEach((button) => button.addEventListener("click", () => {
  if (data) calls.start(data.order_id, button.dataset.rtcCall);
}));

const socket = new LiveSocket(`/ws/track/${encodeURIComponent(token)}/`, {
  onEvent(msg) {
    if (!msg || !msg.type) return;
    if (calls.handle(msg)) return;
    if (chats && (chats.rider.handle(msg) | chats.store.handle(msg))) return;
    if (msg.type === "rider.approaching") {
      approach = { distance_m: Number(msg.distance_m), eta_s: Number(msg.eta_s) };
      if (data) renderApproach(data, approach);
    } else if (msg.type.startsWith("order.")) {
      scheduleLoad();
    }
  },
  onOpen() {
    scheduleLoad(); // catch up after a reconnect
    calls.reconnected();
    if (chats) Object.values(chats).forEach((c) => c.load());
  },
  onState(state) {
    if (state === "offline" && navigator.onLine) load(); // refused: the link may have expired
  },
});

window.__live = socket; // the browser tests drop the socket to check catch-up
load();
