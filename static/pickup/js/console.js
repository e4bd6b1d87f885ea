// The store counter: today's queue (live over /ws/store/), mark ready, the packing list with sealed
// item names revealed on demand, the counter lookup (typed pickup number, or the rider's QR where the
// browser has BarcodeDetector), a dry-run check of the rider's code, the handoff, and today's
// handoffs with a one-minute undo. Socket frames carry no PII: an order event only triggers a re-fetch.
// One module per concern under console/: state, queue, chat, history, sync, lookup, handoff, scan, alerts.
import { ago, announce } from "../../common/dom.js";
import { CallManager } from "../../common/rtc.js";
import { LiveSocket } from "../../common/socket.js";
import { fmt, gettext } from "../../common/ui.js";
import { alerts, markNew, NEW_TEXT } from "./console/alerts.js";
import { chats } from "./console/chat.js";
import "./console/exits.js";
import "./console/handoff.js";
import { tickUndo } from "./console/history.js";
import { forget } from "./console/queue.js";
import { scanStop } from "./console/scan.js";
import { link, send, state } from "./console/state.js";
import { refresh, scheduleRefresh } from "./console/sync.js";

link.calls = new CallManager({ send, me: "store" });
const calls = link.calls;
link.socket = new LiveSocket("/ws/store/", {
  onEvent(msg) {
    if (calls.handle(msg)) return;
    let chatFrame = false;
    for (const pair of chats.values()) chatFrame = Boolean(pair.rider.handle(msg) | pair.customer.handle(msg)) || chatFrame;
    if (chatFrame) return;
    if (msg.type === "order.created") {
      announce(`New order: bag ${msg.pickup_code}.`);
      alerts.raise({ id: `order-${msg.order}`, order: msg.order, title: NEW_TEXT.title, text: NEW_TEXT.text(msg.pickup_code) });
      markNew();
    }
    if (typeof msg.type === "string" && msg.type.startsWith("order.")) scheduleRefresh();
  },
  onOpen: () => {
    scheduleRefresh();
    calls.reconnected();
    for (const pair of chats.values()) Object.values(pair).forEach((c) => c.load());
  },
});

setInterval(tickUndo, 1000);
setInterval(() => {
  for (const node of document.querySelectorAll("[data-role=age][data-created]")) {
    node.textContent = fmt(gettext("ordered %(ago)s ago"), { ago: ago(node.dataset.created) });
  }
}, 15_000);
setInterval(() => { if (document.visibilityState === "visible") refresh(); }, 60_000); // rider ETAs move on
window.addEventListener("pagehide", () => {
  scanStop();
  for (const id of [...state.revealed.keys()]) forget(id);
});

refresh();
