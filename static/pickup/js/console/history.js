// Today's handoffs, each with a one-minute undo.
import { api, errorText } from "../../../common/api.js";
import { $, announce, el, isBusy, toast, whileBusy } from "../../../common/dom.js";
import { clock, fmt, gettext } from "../../../common/ui.js";
import { showBag } from "./lookup.js";
import { state } from "./state.js";
import { refresh, views } from "./sync.js";

export function renderHistory(entries) {
  state.history = entries;
  const list = $("history");
  const focusedOrder = document.activeElement && document.activeElement.dataset.undo;
  list.replaceChildren(...entries.map((h, i) => {
    // The button is named by what it shows, "Undo (N s)" (WCAG 2.5.3); which bag it takes back is its description.
    const undoDesc = h.undo_until && !h.undone
      ? el("span", { class: "visually-hidden", id: `h-undo-desc-${i}` },
        `Takes bag ${h.pickup_code} back from ${h.rider ? h.rider.name : "the rider"}.`)
      : null;
    const undo = undoDesc
      ? el("button", { type: "button", class: "btn btn-danger", "data-undo": String(h.order),
        "data-until": h.undo_until, "aria-describedby": undoDesc.id, onclick: (e) => undoHandoff(h, e.currentTarget) },
      gettext("Undo"))
      : null;
    const outcome = h.undone
      ? el("span", { class: "h-undone" }, `Taken back at ${clock(h.undone_at)} by ${h.undone_by}`)
      : null;
    return el("li", { class: "h-item", dataset: { order: h.order, undone: String(h.undone) } },
      el("time", { datetime: h.at }, clock(h.at)),
      el("span", { class: "h-code" }, h.pickup_code),
      el("span", { class: "h-rider" }, `to ${h.rider ? h.rider.name : "rider"}`),
      el("span", { class: "h-by muted" }, `by ${h.by}`),
      outcome, undoDesc, undo);
  }));
  $("history-empty").hidden = entries.length > 0;
  tickUndo();
  if (focusedOrder) {
    const again = list.querySelector(`[data-undo="${focusedOrder}"]`);
    (again || $("history-heading")).focus();
  }
}

export function tickUndo() {
  for (const button of document.querySelectorAll("#history [data-until]")) {
    const left = Math.ceil((new Date(button.dataset.until).getTime() - Date.now()) / 1000);
    if (left <= 0) {
      const wasFocused = document.activeElement === button;
      button.remove();
      if (wasFocused) $("history-heading").focus();
    } else if (!isBusy(button)) {
      button.textContent = `Undo (${left} s)`;
    }
  }
}

export async function undoHandoff(entry, button) {
  try {
    const order = await whileBusy(button, () => api(`/api/pickup/orders/${entry.order}/undo-handoff/`, { method: "POST" }),
      { label: gettext("Undoing…") });
    toast(fmt(gettext("Bag %(code)s taken back: it is ready again. Keep it on the shelf."), { code: order.pickup_code }), "ok");
    announce(`Handoff of bag ${order.pickup_code} undone.`);
    if (state.bag && state.bag.id === order.id) showBag(order, { quiet: true });
    await refresh();
  } catch (err) {
    toast(fmt(gettext("Could not undo: %(reason)s"), { reason: errorText(err) }), "error");
    await refresh();
  }
}

views.history = renderHistory;
