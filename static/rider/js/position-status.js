// What the rider sees of position sharing: its state, the last position's answer, and what waits to send
// (the Tracker's callbacks for the rider screen's `ui` and `state`).
import { toast } from "../../common/dom.js";
import { fmt, gettext, ngettext, sentence } from "../../common/ui.js";
import { formatClock } from "./format.js";
import { describeAck } from "./geo.js";

export function positionStatus(ui, state, refreshDistance) {
  return {
    onState({ state: s, text }) {
      ui.geoStatus.textContent = text;
      ui.geoStatus.dataset.state = s;
      ui.geoDenied.hidden = s !== "denied" || state.deniedClosed;
    },
    onFix(fix) {
      if (state.view) state.view.setFix(fix);
    },
    onAck(ack) {
      // A fix replayed after a gap is expected, not an error: said neutrally.
      const late = !ack.accepted && ["seq", "stale", "late"].includes(ack.reason);
      ui.geoAck.dataset.late = String(late);
      ui.geoAck.textContent = late
        ? fmt(gettext("Position from %(time)s sent after the connection came back."), { time: formatClock(ack.at) })
        : sentence(fmt(gettext("Last position %(time)s: %(result)s"), { time: formatClock(ack.at), result: describeAck(ack) }));
      ui.geoAck.dataset.accepted = String(Boolean(ack.accepted));
      ui.geoAck.dataset.seq = String(ack.seq);
      if (ack.accepted) refreshDistance();
    },
    onQueue(n) {
      ui.geoQueue.hidden = n === 0;
      ui.geoQueue.textContent = fmt(ngettext("%(n)s position waiting to send.", "%(n)s positions waiting to send.", n), { n });
      ui.geoQueue.dataset.count = String(n);
    },
  };
}

// The answer to "I am here", as a toast.
export function hereToast(ack) {
  toast(ack.accepted ? gettext("Sent: you are here.") : fmt(gettext("Not used: %(reason)s"), { reason: describeAck(ack) }), ack.accepted ? "ok" : "error");
}
