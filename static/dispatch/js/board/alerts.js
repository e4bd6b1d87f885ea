// Alerts: spoofed positions and failed pickups, in the alerts bar (kept until acknowledged) and in the
// board's alerts list.
import { Alerts } from "../../../common/alerts.js";
import { $, el } from "../../../common/dom.js";
import { clock, fmt, gettext, ngettext } from "../../../common/ui.js";
import { orderById, state } from "./state.js";

const FLAGS = {
  teleport: gettext("jumped more than 5 km at once"),
  speed: gettext("moved faster than a rider can"),
  clock_skew: gettext("sent a time in the future"),
  frozen: gettext("repeated one exact position"),
};
const MAX_ALERTS = 50;

export function riderName(id) {
  const r = state.riders.get(id);
  return r ? r.name : `rider #${id}`;
}

export function orderCode(id) {
  const o = orderById(id);
  return o ? o.pickup_code : `#${id}`;
}

export function describeAlert(msg) {
  if (msg.kind === "spoofing") {
    const flags = (msg.flags || []).map((f) => FLAGS[f] || f).join(gettext(", ")) || gettext("an impossible position");
    return [gettext("Suspicious location"), fmt(gettext("%(rider)s (order %(order)s) %(flags)s. The position was ignored."),
      { rider: riderName(msg.rider), order: orderCode(msg.order), flags })];
  }
  if (msg.kind === "pickup_failures") {
    const store = state.stores.get(msg.store);
    return [gettext("Failed pickups"), fmt(ngettext("%(count)s failed handoff attempt at %(store)s. Check the counter.",
      "%(count)s failed handoff attempts at %(store)s. Check the counter.", msg.count),
      { count: msg.count, store: store ? store.name : `#${msg.store}` })];
  }
  return [gettext("Alert"), String(msg.kind || "unknown")];
}

// Kept in localStorage by id until acknowledged, so a reload never loses one.
const alertsBar = new Alerts({ persistKey: "dispatch.alerts" });

export function addAlert(msg) {
  const [title, text] = describeAlert(msg);
  alertsBar.raise({ id: msg.id ?? msg.seq ?? `${msg.kind}:${msg.order ?? ""}:${msg.rider ?? ""}:${msg.count ?? ""}:${Date.now()}`,
    order: msg.order ?? null, title, text });
  const now = new Date();
  const item = el("li", { class: "alert", dataset: { kind: msg.kind || "", order: msg.order ?? "", rider: msg.rider ?? "" } },
    el("time", { datetime: now.toISOString() }, clock(now)), " ",
    el("strong", {}, `${title}: `), text);
  const list = $("alerts");
  list.prepend(item);
  while (list.children.length > MAX_ALERTS) list.lastElementChild.remove();
  $("alerts-empty").hidden = true;
  $("alerts-clear").hidden = false;
}

$("alerts-clear").addEventListener("click", () => {
  $("alerts").replaceChildren();
  $("alerts-empty").hidden = false;
  $("alerts-clear").hidden = true;
  $("alerts-heading").focus();
});
