// Today's queue: one card per order (updated in place), mark ready, and the sealed item names revealed
// for packing on demand (in memory only, for 2 minutes).
import { api, errorText } from "../../../common/api.js";
import { $, ago, announce, el, toast, whileBusy } from "../../../common/dom.js";
import { clock, fmt, gettext } from "../../../common/ui.js";
import { markNew } from "./alerts.js";
import { showBag } from "./lookup.js";
import { late, link, OPEN, riderLine, spaced, state, STATUS } from "./state.js";
import { refresh, views } from "./sync.js";

export const REVEAL_FOR_MS = 120_000; // sealed item names disappear from the screen again after 2 minutes

export function buildCard(order) {
  const id = order.id;
  const r = {};
  // The number in large type for the eye; for a screen reader, digit by digit (a <p> cannot carry a label).
  r.code = el("p", { class: "pickup-code oc-code", "data-role": "pickup-code", "aria-hidden": "true" });
  r.codeSpoken = el("p", { class: "visually-hidden" });
  r.status = el("span", { class: "badge", "data-role": "status" });
  r.age = el("span", { class: "oc-age", "data-role": "age" });
  r.items = el("ul", { class: "oc-items", "data-role": "items" });
  r.rider = el("p", { class: "oc-rider", "data-role": "rider" });
  r.ready = el("button", { type: "button", class: "btn btn-primary", "data-action": "ready",
    onclick: (e) => markReady(id, e.currentTarget) }, gettext("Mark ready"));
  r.reveal = el("button", { type: "button", class: "btn", "data-action": "reveal", "aria-expanded": "false",
    onclick: (e) => toggleReveal(id, e.currentTarget) }, gettext("Show item names"));
  // The visible words start the accessible name (WCAG 2.5.3), the bag number completes it.
  r.labelBag = el("span", { class: "visually-hidden" });
  r.label = el("a", { class: "btn btn-quiet", "data-action": "label", target: "_blank", rel: "noopener" }, gettext("Print label"),
    r.labelBag);
  r.callRider = el("button", { type: "button", class: "btn", "data-action": "rtc-call-rider",
    onclick: () => link.calls.start(id, "rider") }, "Call rider in the app");
  r.callCustomer = el("button", { type: "button", class: "btn btn-quiet", "data-action": "rtc-call-customer",
    onclick: () => link.calls.start(id, "customer") }, "Call customer in the app");
  r.chatBtn = el("button", { type: "button", class: "btn btn-quiet", "data-action": "chat", "aria-expanded": "false",
    onclick: (e) => late.toggleChats(id, r, e.currentTarget) }, "Messages");
  r.chats = el("div", { class: "oc-chats", hidden: true });
  r.root = el("li", { class: "order-card", dataset: { order: id }, "aria-labelledby": `oc-h-${id}` },
    el("h3", { class: "visually-hidden", id: `oc-h-${id}` }, `Bag ${order.pickup_code}`),
    r.codeSpoken, r.code,
    el("div", { class: "oc-body" }, el("p", { class: "oc-meta" }, r.status, " ", r.age), r.items, r.rider),
    el("div", { class: "oc-actions" }, r.ready, r.reveal, r.label, r.callRider, r.callCustomer, r.chatBtn), r.chats);
  return r;
}

export function renderItems(r, order) {
  const revealed = state.revealed.get(order.id);
  const rows = [];
  if (revealed) {
    for (const line of revealed.lines) {
      rows.push(el("li", { class: line.sensitive ? "sensitive" : "" }, `${line.qty} × ${line.name}`,
        line.sensitive ? el("span", { class: "badge badge-sensitive" }, gettext("Sensitive: pack discreetly")) : null));
    }
  } else {
    for (const line of order.items.lines) rows.push(el("li", {}, `${line.qty} × ${line.name}`));
    if (order.items.sensitive_count) {
      rows.push(el("li", { class: "sensitive" }, order.items.sensitive_summary,
        el("span", { class: "badge badge-sensitive" }, gettext("Sensitive: name sealed"))));
    }
  }
  r.items.replaceChildren(...rows);
}

export function updateCard(r, order) {
  r.root.dataset.status = order.status;
  r.code.textContent = order.pickup_code;
  r.codeSpoken.textContent = `Pickup number ${spaced(order.pickup_code)}`;
  r.status.textContent = STATUS[order.status] || order.status;
  r.status.dataset.status = order.status;
  r.age.textContent = fmt(gettext("ordered %(ago)s ago"), { ago: ago(order.created_at) });
  r.age.dataset.created = order.created_at;
  renderItems(r, order);
  r.rider.textContent = riderLine(order);
  r.ready.hidden = !(order.status === "created" || order.status === "assigned");
  r.reveal.hidden = !(order.items.sensitive_count && OPEN.has(order.status));
  r.reveal.textContent = state.revealed.has(order.id) ? gettext("Hide item names") : gettext("Show item names");
  r.reveal.setAttribute("aria-expanded", String(state.revealed.has(order.id)));
  r.label.href = order.label_url;
  r.labelBag.textContent = ` for bag ${order.pickup_code}`;
  r.callRider.hidden = !(order.rider && OPEN.has(order.status));
  r.callCustomer.hidden = order.status === "cancelled";
  if (late.cardExits) late.cardExits(r, order); // cancel, and take back a returning bag (exits.js)
}

export function renderQueue(orders) {
  const open = [];
  const done = [];
  const seen = new Set();
  for (const order of orders) {
    seen.add(order.id);
    state.orders.set(order.id, order);
    let r = state.cards.get(order.id);
    if (!r) {
      r = buildCard(order);
      state.cards.set(order.id, r);
    }
    updateCard(r, order);
    (OPEN.has(order.status) || order.status === "returning" ? open : done).push(r.root);
  }
  for (const [id, r] of state.cards) {
    if (!seen.has(id)) {
      r.root.remove();
      state.cards.delete(id);
      state.orders.delete(id);
    }
  }
  // Re-append in order; nodes that keep their place keep focus.
  const place = (list, nodes) => nodes.forEach((node, i) => {
    if (list.children[i] !== node) list.insertBefore(node, list.children[i] || null);
  });
  markNew();
  place($("queue"), open);
  place($("done"), done);
  $("queue-empty").hidden = open.length > 0;
  $("queue-count").textContent = `(${open.length})`;
  $("done-wrap").hidden = done.length === 0;
  $("done-count").textContent = String(done.length);
  const ready = orders.filter((o) => o.status === "ready").length;
  const time = clock(new Date(), { seconds: true });
  $("summary").textContent = fmt(gettext("%(waiting)s waiting, %(ready)s ready · updated %(time)s"), { waiting: open.length, ready, time });
  if (state.bag && state.orders.has(state.bag.id)) showBag(state.orders.get(state.bag.id), { quiet: true });
}

export async function markReady(id, button) {
  const order = state.orders.get(id) || state.bag;
  try {
    const updated = await whileBusy(button, () => api(`/api/pickup/orders/${id}/ready/`, { method: "POST" }), { label: gettext("Marking…") });
    toast(fmt(gettext("Bag %(code)s is ready. The rider has been told."), { code: updated.pickup_code }), "ok");
    announce(`Bag ${updated.pickup_code} marked ready.`);
    await refresh();
  } catch (err) {
    toast(fmt(gettext("Could not mark bag %(code)s ready: %(reason)s"), { code: order ? order.pickup_code : "", reason: errorText(err) }), "error");
  }
}

export async function toggleReveal(id, button) {
  const held = state.revealed.get(id);
  if (held) {
    forget(id);
    button.focus();
    return;
  }
  try {
    const data = await whileBusy(button, () => api(`/api/pickup/orders/${id}/packing/`), { label: gettext("Opening…") });
    const timer = setTimeout(() => forget(id), REVEAL_FOR_MS);
    state.revealed.set(id, { lines: data.lines, timer });
    const r = state.cards.get(id);
    if (r) updateCard(r, state.orders.get(id));
    toast(gettext("Item names shown for packing for 2 minutes. This was logged."), "ok");
  } catch (err) {
    toast(fmt(gettext("Could not show the item names: %(reason)s"), { reason: errorText(err) }), "error");
  }
}

export function forget(id) {
  const held = state.revealed.get(id);
  if (!held) return;
  clearTimeout(held.timer);
  state.revealed.delete(id);
  const r = state.cards.get(id);
  if (r && state.orders.has(id)) updateCard(r, state.orders.get(id));
}

views.queue = renderQueue;
late.markReady = markReady;
