// Riders' lines to dispatch: messages and calls from any on-duty rider of this board's fleets, with no order
// and no break-glass (they carry no customer data). A panel per rider opens when they write, when their SOS
// arrives, or from the riders list; their calls ring through the board's CallManager. After a reload the earlier
// threads are listed (GET /api/dispatch/lines/: names, counts, times, no text), each opening its panel.
import { api } from "../../../common/api.js";
import { $, el } from "../../../common/dom.js";
import { ChatPanel } from "../../../common/chat.js";
import { clock, fmt, gettext, ngettext } from "../../../common/ui.js";
import { late, state } from "./state.js";

const panels = new Map(); // rider id -> ChatPanel
const earlier = new Map(); // rider id -> the line as GET /api/dispatch/lines/ lists it

function riderName(id) {
  const r = state.riders.get(id) || earlier.get(id);
  return r ? r.name : fmt(gettext("rider #%(id)s"), { id });
}

// The earlier threads not open as a panel, most recently used first (as the server lists them).
function renderEarlier() {
  const list = [...earlier.values()].filter((line) => !panels.has(line.rider));
  $("lines-earlier").replaceChildren(...list.map((line) => el("li", {},
    el("button", { type: "button", class: "btn btn-quiet", dataset: { lineOpen: String(line.rider) },
      onclick: () => openLine(line.rider, { focus: true }) },
    fmt(ngettext("%(name)s: %(count)s message, last %(time)s", "%(name)s: %(count)s messages, last %(time)s",
      line.messages), { name: line.name, count: line.messages, time: clock(line.last_at) })))));
  $("lines-earlier-wrap").hidden = list.length === 0;
}

export async function loadLines() {
  const lines = await api("/api/dispatch/lines/");
  earlier.clear();
  lines.forEach((line) => earlier.set(line.rider, line));
  renderEarlier();
}

export function openLine(riderId, { focus = false } = {}) {
  const id = Number(riderId);
  let panel = panels.get(id);
  if (!panel) {
    panel = new ChatPanel({ send: (m) => state.socket && state.socket.send(m), me: "dispatch", line: id, peer: "rider",
      title: fmt(gettext("Messages with %(name)s"), { name: riderName(id) }) });
    const call = el("button", { type: "button", class: "btn", "data-line-call": String(id),
      onclick: () => state.calls && state.calls.startLine(id, "rider", riderName(id)) },
    fmt(gettext("Call %(name)s in the app"), { name: riderName(id) }));
    const close = el("button", { type: "button", class: "btn btn-quiet", onclick: () => {
      panel.root.remove();
      panels.delete(id);
      $("lines-empty").hidden = panels.size > 0;
      renderEarlier();
    } }, gettext("Close"));
    panel.root.dataset.line = String(id);
    panel.root.append(el("div", { class: "row" }, call, close));
    panels.set(id, panel);
    $("lines").append(panel.root);
    $("lines-empty").hidden = true;
    renderEarlier();
    panel.load();
  }
  if (focus) panel.input.focus();
  return panel;
}

// A socket frame for a rider's line: true when it was one (and was handled here).
export function lineEvent(msg) {
  if (!msg || typeof msg.type !== "string") return false;
  if (msg.type === "alert" && msg.alert && msg.alert.kind === "sos" && !msg.alert.acked_at && msg.alert.rider) {
    openLine(msg.alert.rider);
    return false; // the alerts panel shows it too
  }
  if (!msg.type.startsWith("chat.") || msg.line == null) return false;
  const panel = openLine(msg.line);
  panel.handle(msg);
  return true;
}

export function linesReconnected() {
  for (const panel of panels.values()) panel.load();
}

late.openLine = openLine;
