// Offering an order to a rider: an "Offer" button beside each suggestion's "Assign" in the assign dialog, and
// one beside each row's "Assign" that opens that dialog. The rider accepts or declines on their phone; the row
// follows the order's events. The buttons are added to whatever the table and the dialog draw (they are
// watched for), so their own code stays as it is.
import { api, errorText } from "../../../common/api.js";
import { el, isBusy, setBusy, toast } from "../../../common/dom.js";
import { fmt, gettext, sentence } from "../../../common/ui.js";
import { orderById, state } from "./state.js";

const WAITING = ["created", "offered", "ready"];

function riderName(id) {
  const rider = state.riders.get(id);
  return rider ? rider.name : gettext("the rider");
}

export async function offer(orderId, button, riderId) {
  const order = orderById(orderId);
  if (!order || isBusy(button)) return;
  setBusy(button, true, { label: gettext("Offering…") });
  try {
    const made = await api(`/api/dispatch/orders/${orderId}/offer/`, { method: "POST", body: { rider: riderId } });
    setBusy(button, false);
    const seconds = Math.max(0, Math.round((new Date(made.expires_at) - Date.now()) / 1000));
    toast(sentence(fmt(gettext("Order %(code)s offered to %(rider)s, who has %(s)s s to answer"),
      { code: order.pickup_code, rider: riderName(riderId), s: seconds })), "ok");
  } catch (err) {
    setBusy(button, false);
    toast(fmt(gettext("Order %(code)s was not offered: %(reason)s"),
      { code: order.pickup_code, reason: errorText(err, gettext("please try again.")) }), "error");
  }
}

// An "Offer" button after each assign button; shown only while the order waits for a rider.
function decorate() {
  document.querySelectorAll("button[data-assign]").forEach((assign) => {
    const id = Number(assign.dataset.assign);
    let button = assign.parentElement.querySelector("button[data-offer]");
    if (!button) {
      button = el("button", { type: "button", class: "btn offer-btn", dataset: { offer: id } }, gettext("Offer"));
      button.addEventListener("click", () => assign.click()); // choose whom in the assign dialog
      assign.after(button);
    }
    const order = orderById(id);
    button.hidden = assign.hidden || !order || Boolean(order.rider) || !WAITING.includes(order.status);
  });
  document.querySelectorAll("span[data-offer-slot]:empty").forEach((slot) => {
    const orderId = Number(slot.dataset.order);
    const order = orderById(orderId);
    if (!order || order.rider || !WAITING.includes(order.status)) return;
    const riderId = Number(slot.dataset.offerSlot);
    const button = el("button", { type: "button", class: "btn offer-btn", dataset: { offerRider: riderId },
      "aria-label": fmt(gettext("Offer to %(name)s"), { name: riderName(riderId) }) }, gettext("Offer"));
    button.addEventListener("click", () => offer(orderId, button, riderId));
    slot.append(button);
  });
}

// Watched: the orders table and the assign dialog (created on first use), not the whole page: the map's markers
// and the alerts move all the time and have no assign buttons (watching the body cost a scan of every row per
// animation frame while the riders were being placed).
let pending = false;
const observer = new MutationObserver(() => {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    decorate();
  });
});
const watched = new Set();
function watch(node) {
  if (!node || watched.has(node)) return;
  watched.add(node);
  observer.observe(node, { childList: true, subtree: true, characterData: true });
}
watch(document.getElementById("orders"));
watch(document.getElementById("assign-dialog"));
const main = document.querySelector("main");
if (main) new MutationObserver(() => watch(document.getElementById("assign-dialog"))).observe(main, { childList: true });
decorate();
