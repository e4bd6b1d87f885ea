// The riders on duty, as a list beside the map.
import { $, ago, el } from "../../../common/dom.js";
import { fmt, gettext, ngettext } from "../../../common/ui.js";
import { late, state } from "./state.js";

export function renderRiders() {
  const list = $("riders");
  const riders = [...state.riders.values()].filter((r) => r.on_duty !== false);
  $("riders-count").textContent = `(${riders.length})`;
  if (!riders.length) {
    list.replaceChildren(el("li", { class: "muted" }, gettext("Nobody is on duty.")));
    return;
  }
  list.replaceChildren(...riders.map((r) => {
    const held = state.orders.filter((o) => o.rider && o.rider.id === r.id).map((o) => o.pickup_code);
    return el("li", { dataset: { rider: r.id } },
      el("span", { class: "rider-name" }, r.name),
      el("span", { class: "muted" }, " · ", held.length
        ? fmt(ngettext("order %(codes)s", "orders %(codes)s", held.length), { codes: held.join(", ") }) : gettext("free")),
      el("span", { class: "muted rider-seen" }, " · ",
        r.at ? fmt(gettext("seen %(ago)s ago"), { ago: ago(r.at) }) : gettext("no position yet")),
      el("button", { type: "button", class: "btn btn-quiet", "data-open-line": String(r.id),
        onclick: () => late.openLine && late.openLine(r.id, { focus: true }) }, gettext("Message")));
  }));
}
