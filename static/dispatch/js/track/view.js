// The tracking page's parts, drawn from the order as the API gives it: the headline, the steps, the PIN,
// the rider's approach, the call and consent cards, and who has seen the address.
import { $, el } from "../../../common/dom.js";
import { clock, fmt, formatDistance, gettext } from "../../../common/ui.js";

export const STEPS = ["created", "assigned", "ready", "picked_up", "delivered"];
export const TIER_TEXT = { street: gettext("your street"), door: gettext("your building, flat and door details") };

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text; // live regions: announce changes only
}

export function dayAndClock(iso) {
  return new Date(iso).toLocaleString(document.documentElement.lang || [], { weekday: "short", day: "numeric", month: "short", hour: "2-digit",
    minute: "2-digit" });
}

export function distanceText(m) {
  return formatDistance(m >= 1000 ? m : Math.max(10, Math.round(m / 10) * 10));
}

export function headline(d) {
  if (d.exit) return d.exit.headline; // the order left the road: the server's words (track/exit.js says more)
  const rider = d.rider ? d.rider.name : null;
  switch (d.status) {
    case "created": return fmt(gettext("%(store)s has your order."), { store: d.store });
    case "assigned": return fmt(gettext("%(rider)s will collect your order from %(store)s."), { rider: rider || gettext("A rider"), store: d.store });
    case "ready": return rider ? fmt(gettext("Your order is ready at %(store)s. %(rider)s is collecting it."), { store: d.store, rider })
      : fmt(gettext("Your order is ready at %(store)s."), { store: d.store });
    case "picked_up": return fmt(gettext("%(rider)s is on the way with your order."), { rider: rider || gettext("Your rider") });
    case "delivered": return gettext("Delivered. Thank you!");
    case "cancelled": return gettext("This order was cancelled. Contact the shop if you have questions.");
    default: return "";
  }
}

export function renderSteps(d) {
  const at = STEPS.indexOf(d.status);
  $("steps").classList.toggle("is-cancelled", d.status === "cancelled");
  document.querySelectorAll("#steps li").forEach((li) => {
    const i = STEPS.indexOf(li.dataset.step);
    // "Rider assigned" is done only when there is a rider (a store may be ready first).
    const done = at >= 0 && i < at && (li.dataset.step !== "assigned" || Boolean(d.rider));
    const current = i === at;
    li.classList.toggle("done", done || (current && d.status === "delivered"));
    li.classList.toggle("current", current);
    if (current) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
    li.querySelector(".step-state").textContent = current ? " (current step)" : done ? " (done)" : "";
  });
}

export function renderPin(d) {
  const card = $("pin-card");
  const pin = d.delivery_pin;
  card.hidden = !pin || d.status === "cancelled";
  const node = $("pin");
  if (!pin) {
    node.replaceChildren();
    return;
  }
  node.dataset.pin = pin;
  node.replaceChildren(
    el("span", { class: "visually-hidden" }, `PIN: ${pin.split("").join(" ")}`),
    el("span", { class: "pin-digits", "aria-hidden": "true" }, ...pin.split("").map((c) => el("span", { class: "pin-digit" }, c))),
  );
}

// `approach`: the last rider.approaching frame ({distance_m, eta_s}) or null.
export function renderApproach(d, approach) {
  const node = $("approach");
  if (!approach || d.status !== "picked_up") {
    node.hidden = true;
    node.textContent = "";
    return;
  }
  const minutes = Math.max(1, Math.round(approach.eta_s / 60));
  setText(node, approach.distance_m < 50 ? gettext("Your rider is arriving now.")
    : fmt(gettext("Your rider is %(distance)s away, about %(minutes)s min."), { distance: distanceText(approach.distance_m), minutes }));
  node.dataset.distance = approach.distance_m;
  node.hidden = false;
}

export function renderCall(d) {
  const button = $("call-btn");
  const can = Boolean(d.rider) && !["delivered", "cancelled"].includes(d.status);
  button.hidden = !can;
  $("call-hint").hidden = can || d.status === "delivered" || d.status === "cancelled";
  const out = $("call-result");
  if (!can) {
    out.replaceChildren();
  } else if (d.call_number && !out.childElementCount) {
    out.replaceChildren(telLine(d.call_number));
  }
}

export const PROTECTED_TEXT = gettext("Calls go through a temporary number. Your rider never sees your number, and you never see theirs.");
export const SHARED_TEXT = gettext("You allowed your rider to see your number while they have your order. ") +
  gettext("Calls through the temporary number still hide it.");

export function renderConsent(d) {
  setText($("call-privacy"), d.consent.number_protection ? PROTECTED_TEXT : SHARED_TEXT);
  const card = $("consent-card");
  const withdrawn = card.dataset.withdrawn === "true";
  card.hidden = !d.consent.marketing && !withdrawn;
  $("consent-btn").hidden = !d.consent.marketing;
  $("consent-text").hidden = !d.consent.marketing;
}

export function telLine(number) {
  return el("p", { class: "call-line" }, gettext("Your private line: "),
    el("a", { class: "tel-link", href: `tel:${String(number).replace(/[^+\d]/g, "")}`, dataset: { proxy: number } }, number));
}

const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);

export function renderSeen(d) {
  // `by` is the server's label in this page's language: "your rider", or with several riders "your first rider",
  // "your current rider"... (never a name).
  const who = (e) => capital(e.by || gettext("your rider"));
  const ended = d.access_ended || d.access_revoked_at.map((at) => ({ at }));
  const entries = [
    ...d.address_seen.map((s) => ({
      at: s.at,
      text: fmt(gettext("%(who)s was shown %(what)s."), { who: who(s), what: TIER_TEXT[s.tier] || s.tier }),
      kind: s.tier,
    })),
    ...ended.map((e) => ({ at: e.at, text: fmt(gettext("%(who)s's access to your address ended."), { who: who(e) }),
      kind: "revoked" })),
  ].sort((a, b) => new Date(a.at) - new Date(b.at));
  const list = $("seen");
  if (!entries.length) {
    list.replaceChildren(el("li", { class: "muted" }, gettext("Nobody has seen more than your area yet.")));
    return;
  }
  list.replaceChildren(...entries.map((e) => el("li", { dataset: { kind: e.kind } },
    el("time", { datetime: e.at }, clock(e.at)), " ", e.text)));
}
