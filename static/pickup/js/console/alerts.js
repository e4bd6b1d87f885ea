// A new order sounds, vibrates and stays highlighted (and in the alerts bar) until someone acknowledges it.
import { Alerts } from "../../../common/alerts.js";
import { fmt, gettext } from "../../../common/ui.js";
import { state } from "./state.js";

export const NEW_TEXT = { title: gettext("New order"), text: (code) => fmt(gettext("bag %(code)s. Start packing."), { code }) };
export const alerts = new Alerts({ onAck: () => markNew() });
export function markNew() {
  for (const [id, r] of state.cards) {
    if (alerts.has(`order-${id}`)) r.root.dataset.new = "true";
    else delete r.root.dataset.new;
  }
}
