// The open orders table: one row per order, updated in place (a row keeps its focus and its choice of
// rider), new and changed rows highlighted, and the summary line above it.
import { $, ago, announce, el, isBusy } from "../../../common/dom.js";
import { fmt, gettext, ngettext } from "../../../common/ui.js";
import { late, rows, state, STATUS } from "./state.js";

export function cell(label, ...children) {
  return el("td", { dataset: { label } }, ...children);
}

export function buildRow(order) {
  const id = order.id;
  const r = {};
  r.code = el("th", { scope: "row", class: "code", dataset: { label: gettext("Pickup no.") } });
  r.store = cell(gettext("Store"));
  r.statusBadge = el("span", { class: "badge" });
  r.age = el("span", { class: "muted age" });
  r.status = cell(gettext("Status"), r.statusBadge, " ", r.age);
  r.area = cell(gettext("Area"));
  r.customerName = el("span", { class: "customer-name" });
  r.customerPhone = el("span", { class: "muted" });
  r.items = el("span", { class: "muted items" });
  r.customer = cell(gettext("Customer"), r.customerName, el("br"), r.customerPhone, el("br"), r.items);
  r.rider = cell(gettext("Rider"));
  // The button opens the suggestions dialog (assign.js).
  r.assignHidden = el("span", { class: "visually-hidden" });
  r.assignText = el("span");
  r.assignBtn = el("button", { type: "button", class: "btn btn-primary assign-btn", dataset: { assign: id },
    "aria-haspopup": "dialog" }, r.assignText, r.assignHidden);
  r.assignBtn.addEventListener("click", () => late.assign(id));
  r.assignNote = el("span", { class: "muted", hidden: true }, gettext("Collected: cannot reassign"));
  r.assign = cell(gettext("Assign"), el("div", { class: "assign" }, r.assignBtn), r.assignNote);
  r.glassHidden = el("span", { class: "visually-hidden" });
  r.glassBtn = el("button", { type: "button", class: "btn btn-glass", dataset: { glass: id } }, gettext("Break glass"), r.glassHidden);
  r.glassBtn.addEventListener("click", () => late.openGlass(id));
  r.logBtn = el("button", { type: "button", class: "btn btn-quiet", dataset: { log: id } }, gettext("Calls and messages"));
  r.logBtn.addEventListener("click", () => late.openLog(id, r.logBtn));
  r.tr = el("tr", { dataset: { order: id } }, r.code, r.store, r.status, r.area, r.customer, r.rider, r.assign,
    cell(gettext("Emergency"), r.glassBtn, " ", r.logBtn));
  return r;
}

export function updateRow(r, order) {
  const previous = r.order;
  r.order = order;
  r.tr.dataset.status = order.status;
  r.tr.dataset.rider = order.rider ? order.rider.id : "";
  r.code.textContent = order.pickup_code;
  r.store.textContent = order.store.name;
  r.statusBadge.textContent = STATUS[order.status] || order.status;
  r.statusBadge.dataset.status = order.status;
  r.age.textContent = `${ago(order.created_at)} ago`;
  r.area.textContent = order.area;
  r.customerName.textContent = order.customer.display_name;
  r.customerPhone.textContent = order.customer.phone_masked;
  const items = order.items || {};
  r.items.textContent = `${items.count} item${items.count === 1 ? "" : "s"}${items.sensitive_summary ? `, ${items.sensitive_summary}` : ""}`;
  r.rider.replaceChildren(order.rider ? el("span", { class: "rider-name" }, order.rider.name)
    : el("span", { class: "unassigned" }, gettext("Unassigned")));
  r.assignHidden.textContent = fmt(gettext(" for order %(code)s"), { code: order.pickup_code });
  r.glassHidden.textContent = fmt(gettext(" for order %(code)s"), { code: order.pickup_code });

  const locked = order.status === "picked_up";
  r.assignBtn.hidden = locked;
  r.assignNote.hidden = !locked;
  if (!isBusy(r.assignBtn)) r.assignText.textContent = order.rider ? gettext("Reassign") : gettext("Assign");
  if (late.rowExits) late.rowExits(r, order); // cancel and retry (exits.js)
  if (previous && (previous.status !== order.status || (previous.rider || {}).id !== (order.rider || {}).id)) {
    flash(r.tr, "is-updated");
  }
}

export function flash(tr, cls) {
  tr.classList.remove(cls);
  void tr.offsetWidth; // restart the animation
  tr.classList.add(cls);
  setTimeout(() => tr.classList.remove(cls), 6000);
}

export function renderOrders() {
  const body = $("orders");
  const wanted = new Set(state.orders.map((o) => o.id));
  for (const [id, r] of rows) {
    if (!wanted.has(id)) {
      if (r.tr.contains(document.activeElement)) $("orders-heading").focus();
      r.tr.remove();
      rows.delete(id);
    }
  }
  let cursor = body.firstElementChild;
  const fresh = [];
  for (const order of state.orders) {
    let r = rows.get(order.id);
    if (!r) {
      r = buildRow(order);
      rows.set(order.id, r);
      if (state.loaded && !state.known.has(order.id)) fresh.push(order);
    }
    updateRow(r, order);
    if (r.tr === cursor) {
      cursor = cursor.nextElementSibling;
    } else {
      body.insertBefore(r.tr, cursor); // moves only rows that are out of place
    }
    state.known.add(order.id);
  }
  for (const order of fresh) {
    flash(rows.get(order.id).tr, "is-new");
  }
  if (fresh.length) {
    announce(fresh.length === 1
      ? fmt(gettext("New order %(code)s at %(store)s."), { code: fresh[0].pickup_code, store: fresh[0].store.name })
      : fmt(ngettext("%(n)s new order.", "%(n)s new orders.", fresh.length), { n: fresh.length }), "board-announce");
  }
  $("orders-empty").hidden = state.orders.length > 0;
  $("orders-table").hidden = state.orders.length === 0;
  $("orders-count").textContent = `(${state.orders.length})`;
  renderSummary();
}

export function renderAllRows() {
  for (const r of rows.values()) updateRow(r, r.order);
}

export function renderSummary() {
  const open = state.orders.length;
  const unassigned = state.orders.filter((o) => !o.rider).length;
  const riders = [...state.riders.values()].filter((r) => r.on_duty !== false).length;
  $("board-summary").textContent = [
    fmt(ngettext("%(n)s open order", "%(n)s open orders", open), { n: open }),
    fmt(gettext("%(n)s unassigned"), { n: unassigned }),
    fmt(ngettext("%(n)s rider on duty", "%(n)s riders on duty", riders), { n: riders }),
  ].join(" · ");
}
