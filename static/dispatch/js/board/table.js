// The open orders table: one row per order, most urgent first (unassigned, then the oldest; late ones flagged),
// updated in place (a row keeps its focus), new and changed rows highlighted, a sound and a visible cue for each
// new unassigned order, and the summary line above it. At scale: rows are built and placed in chunks that yield
// to the browser between them; a row holds one Assign button (the riders are listed only in its dialog).
import { isMuted, playTone } from "../../../common/alerts.js";
import { $, ago, announce, el, isBusy } from "../../../common/dom.js";
import { fmt, gettext, ngettext } from "../../../common/ui.js";
import { byUrgency, isLate, late, rows, state, STATUS } from "./state.js";

const CHUNK_ROWS = 10; // rows built and placed per slice of work before the browser gets a turn

function yieldToBrowser() {
  if (window.scheduler && typeof window.scheduler.yield === "function") return window.scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

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
  r.late = el("span", { class: "late-flag", hidden: true }, gettext("Late"));
  r.status = cell(gettext("Status"), r.statusBadge, " ", r.late, " ", r.age);
  r.area = cell(gettext("Area"));
  r.customerName = el("span", { class: "customer-name" });
  r.customerPhone = el("span", { class: "muted" });
  r.items = el("span", { class: "muted items" });
  r.customer = cell(gettext("Customer"), r.customerName, el("br"), r.customerPhone, el("br"), r.items);
  r.rider = cell(gettext("Rider"));
  // The button opens the suggestions dialog (assign.js).
  r.assignBtn = el("button", { type: "button", class: "btn btn-primary assign-btn", dataset: { assign: id },
    "aria-haspopup": "dialog" });
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
  markLate(r);
  r.area.textContent = order.area;
  r.customerName.textContent = order.customer.display_name;
  r.customerPhone.textContent = order.customer.phone_masked;
  const items = order.items || {};
  r.items.textContent = `${items.count} item${items.count === 1 ? "" : "s"}${items.sensitive_summary ? `, ${items.sensitive_summary}` : ""}`;
  r.rider.replaceChildren(order.rider ? el("span", { class: "rider-name" }, order.rider.name)
    : el("span", { class: "unassigned" }, gettext("Unassigned")));
  r.glassHidden.textContent = fmt(gettext(" for order %(code)s"), { code: order.pickup_code });

  const locked = order.status === "picked_up";
  r.assignBtn.hidden = locked;
  r.assignNote.hidden = !locked;
  if (!isBusy(r.assignBtn)) r.assignBtn.textContent = order.rider ? gettext("Reassign") : gettext("Assign");
  r.assignBtn.setAttribute("aria-label", fmt(order.rider ? gettext("Reassign order %(code)s") : gettext("Assign order %(code)s"),
    { code: order.pickup_code }));
  if (late.rowExits) late.rowExits(r, order); // cancel and retry (exits.js)
  if (previous && (previous.status !== order.status || (previous.rider || {}).id !== (order.rider || {}).id)) {
    flash(r.tr, "is-updated");
  }
}

export function markLate(r, now = Date.now()) {
  const lateNow = isLate(r.order, now);
  if (r.late.hidden === !lateNow) return;
  r.late.hidden = !lateNow;
  r.tr.dataset.late = lateNow ? "true" : "false";
}

// Every 30 s: the ages, and the orders that became late meanwhile.
export function tickRows() {
  const now = Date.now();
  for (const r of rows.values()) {
    r.age.textContent = `${ago(r.order.created_at)} ago`;
    markLate(r, now);
  }
  renderSummary();
}

export function flash(tr, cls) {
  tr.classList.remove(cls);
  void tr.offsetWidth; // restart the animation
  tr.classList.add(cls);
  setTimeout(() => tr.classList.remove(cls), 6000);
}

// Place the rows in urgency order, building new ones in chunks. A newer render supersedes one still running.
let generation = 0;
export async function renderOrders() {
  const mine = ++generation;
  const body = $("orders");
  state.orders = [...state.orders].sort(byUrgency);
  const wanted = new Set(state.orders.map((o) => o.id));
  for (const [id, r] of rows) {
    if (!wanted.has(id)) {
      if (r.tr.contains(document.activeElement)) $("orders-heading").focus();
      r.tr.remove();
      rows.delete(id);
    }
  }
  const quiet = !state.loaded || state.refiltered; // the first list, or one a filter change brought: nothing is new
  state.refiltered = false;
  const fresh = [];
  $("orders-empty").hidden = state.orders.length > 0;
  $("orders-table").hidden = state.orders.length === 0;
  $("orders-count").textContent = `(${state.orders.length})`;
  renderSummary();
  let cursor = body.firstElementChild;
  for (let start = 0; start < state.orders.length; start += CHUNK_ROWS) {
    if (start > 0) {
      await yieldToBrowser();
      if (mine !== generation) return; // a newer list is being drawn
      cursor = rows.get(state.orders[start - 1].id)?.tr.nextElementSibling ?? null;
    }
    const slice = state.orders.slice(start, start + CHUNK_ROWS);
    const built = document.createDocumentFragment(); // a run of new rows goes in with one insertion
    const flush = () => {
      if (built.firstChild) body.insertBefore(built, cursor);
    };
    for (const order of slice) {
      let r = rows.get(order.id);
      if (!r) {
        r = buildRow(order);
        rows.set(order.id, r);
        if (!quiet && !state.known.has(order.id)) fresh.push(order);
      }
      updateRow(r, order);
      if (r.tr === cursor) {
        flush();
        cursor = cursor.nextElementSibling;
      } else if (!r.tr.isConnected) {
        built.append(r.tr);
      } else {
        flush();
        body.insertBefore(r.tr, cursor); // moves only rows that are out of place
      }
      state.known.add(order.id);
    }
    flush();
  }
  for (const order of fresh) {
    flash(rows.get(order.id).tr, "is-new");
  }
  if (fresh.length) {
    announce(fresh.length === 1
      ? fmt(gettext("New order %(code)s at %(store)s."), { code: fresh[0].pickup_code, store: fresh[0].store.name })
      : fmt(ngettext("%(n)s new order.", "%(n)s new orders.", fresh.length), { n: fresh.length }), "board-announce");
    const unassigned = fresh.filter((o) => !o.rider);
    if (unassigned.length) newUnassigned(unassigned);
  }
}

// A new unassigned order: a tone (unless muted, the page is hidden, or nobody has touched the page yet: browsers
// refuse sound before a gesture) and a cue that stays until the dispatcher looks.
const cue = { count: 0 };
export function newUnassigned(orders) {
  cue.count += orders.length;
  const box = $("new-cue");
  $("new-cue-text").textContent = cue.count === 1
    ? fmt(gettext("New unassigned order %(code)s at %(store)s"), { code: orders[0].pickup_code, store: orders[0].store.name })
    : fmt(ngettext("%(n)s new unassigned order", "%(n)s new unassigned orders", cue.count), { n: cue.count });
  box.hidden = false;
  box.dataset.count = String(cue.count);
  const activated = !navigator.userActivation || navigator.userActivation.hasBeenActive;
  if (!isMuted() && document.visibilityState === "visible" && activated) {
    playTone();
    box.dataset.sounded = String(Number(box.dataset.sounded || 0) + 1);
  }
}

export function clearCue() {
  cue.count = 0;
  $("new-cue").hidden = true;
}

$("new-cue-show").addEventListener("click", () => {
  const first = state.orders.find((o) => !o.rider);
  clearCue();
  const r = first && rows.get(first.id);
  if (r) {
    r.tr.scrollIntoView({ block: "center" });
    r.assignBtn.focus();
  } else {
    $("orders-heading").focus();
  }
});
$("new-cue-dismiss").addEventListener("click", () => {
  clearCue();
  $("orders-heading").focus();
});

export function renderAllRows() {
  for (const r of rows.values()) updateRow(r, r.order);
}

export function renderSummary() {
  const open = state.orders.length;
  const unassigned = state.orders.filter((o) => !o.rider).length;
  const now = Date.now();
  const lateCount = state.orders.filter((o) => isLate(o, now)).length;
  const riders = [...state.riders.values()].filter((r) => r.on_duty !== false).length;
  const filtered = Object.values(state.filters).some(Boolean);
  $("board-summary").textContent = [
    fmt(filtered ? ngettext("%(n)s open order shown", "%(n)s open orders shown", open)
      : ngettext("%(n)s open order", "%(n)s open orders", open), { n: open }),
    fmt(gettext("%(n)s unassigned"), { n: unassigned }),
    fmt(gettext("%(n)s late"), { n: lateCount }),
    fmt(ngettext("%(n)s rider on duty", "%(n)s riders on duty", riders), { n: riders }),
  ].join(" · ");
}
