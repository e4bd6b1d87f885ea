// The tracking page's exits: the rider's wait at the door (a countdown the customer sees, the same one as on the
// rider's phone), and, once the order left the road, what happened in the server's words (headline and detail,
// in the page's language: never a person, a note or a position) with what the customer can do next.
import { $ } from "../../../common/dom.js";
import { fmt, gettext, sentence } from "../../../common/ui.js";

const NEXT = {
  cancelled_by_store: gettext("Contact the shop if you have questions."),
  cancelled_by_service: gettext("Contact the shop to arrange the order again."),
  delivery_failed: gettext("The bag is safe with your rider for now: the delivery may be tried again, or the order goes back to the store."),
  returning: gettext("Contact the shop to arrange a new delivery or a refund."),
  returned: gettext("Contact the shop to arrange a new delivery or a refund."),
};

let wait = null; // {ends: ms} while a door wait is shown
let timer = null;

function mmss(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function tick() {
  const clock = $("door-wait-clock");
  if (!wait) return;
  const left = (wait.ends - Date.now()) / 1000;
  const over = left <= 0;
  const text = over ? gettext("Your rider's wait at the door is over.")
    : fmt(gettext("Your rider waits at your door for %(time)s more."), { time: mmss(left) });
  if (clock.textContent !== text) clock.textContent = text;
  clock.dataset.over = String(over);
  if (over) {
    clearInterval(timer);
    timer = null;
  }
}

export function renderDoorWait(d) {
  const card = $("door-wait");
  const dw = d.status === "picked_up" ? d.door_wait : null;
  card.hidden = !dw;
  if (!dw) {
    wait = null;
    clearInterval(timer);
    timer = null;
    return;
  }
  wait = { ends: Date.parse(dw.ends_at) };
  $("door-wait-clock").dataset.ends = dw.ends_at;
  if (!timer) timer = setInterval(tick, 500);
  tick();
}

export function renderExit(d) {
  renderDoorWait(d);
  const card = $("exit-card");
  const exit = d.exit || null;
  card.hidden = !exit;
  document.body.dataset.exit = exit ? exit.category : "";
  $("steps").classList.toggle("is-exited", Boolean(exit));
  if (!exit) return;
  card.dataset.category = exit.category;
  card.dataset.reason = exit.reason;
  const detail = String(exit.detail || "");
  $("exit-detail").textContent = detail ? sentence(detail[0].toUpperCase() + detail.slice(1)) : "";
  $("exit-next").textContent = NEXT[exit.category] || "";
  // Nothing left to give or to call about: the rider no longer has the order.
  $("pin-card").hidden = true;
  $("call-btn").hidden = true;
  if (!(d.reach || {}).rider) $("rtc-why").textContent = gettext("Your rider no longer has your order: in-app calls and messages with them are closed.");
}
