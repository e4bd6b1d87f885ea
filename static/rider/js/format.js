// Small shared helpers for the rider screens: labels, distances, button feedback.
import { toast, whileBusy } from "../../common/dom.js";
import { clock, fmt, formatDistance as localDistance, gettext } from "../../common/ui.js";

export const ACTIVE = ["assigned", "ready", "picked_up"];

export const STATUS_LABELS = {
  created: gettext("New"),
  assigned: gettext("Preparing"),
  ready: gettext("Ready for pickup"),
  picked_up: gettext("Picked up"),
  delivered: gettext("Delivered"),
  cancelled: gettext("Cancelled"),
};

export const TIER_LABELS = { area: gettext("Area only"), street: gettext("Street"), door: gettext("Door") };

export const TIER_HELP = {
  area: gettext("The street and map pin appear when you get close."),
  street: gettext("The building and flat appear at the door."),
  door: gettext("Full address for this delivery."),
};

export function statusLabel(status) {
  return STATUS_LABELS[status] || status;
}

export function formatDistance(m) {
  if (m === null || m === undefined || Number.isNaN(m)) return "";
  const rounded = m < 1000 ? Math.max(0, Math.round(m / 10) * 10) : (m < 10000 ? m : Math.round(m / 1000) * 1000);
  return fmt(gettext("%(distance)s away"), { distance: localDistance(rounded) });
}

const EARTH_R = 6371008.8;
export function distanceM(lat1, lng1, lat2, lng2) {
  const rad = Math.PI / 180;
  const x = (lng2 - lng1) * rad * Math.cos(((lat1 + lat2) / 2) * rad);
  const y = (lat2 - lat1) * rad;
  return EARTH_R * Math.hypot(x, y);
}

// Run an action with visible feedback: the button is busy while it runs, then a toast.
export async function withBusy(button, fn, { ok, fail } = {}) {
  return whileBusy(button, async () => {
    try {
      const result = await fn();
      if (ok) toast(typeof ok === "function" ? ok(result) : ok, "ok");
      return result;
    } catch (err) {
      toast(fail ? `${fail} ${err.detail || err.message || ""}`.trim() : (err.detail || err.message || gettext("Something went wrong.")), "error");
      throw err;
    }
  });
}

export function formatClock(ms) {
  return clock(ms, { seconds: true });
}
