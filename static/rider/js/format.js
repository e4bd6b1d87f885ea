// Small shared helpers for the rider screens: labels, distances, button feedback.
import { toast } from "../../common/api.js";

export const ACTIVE = ["assigned", "ready", "picked_up"];

export const STATUS_LABELS = {
  created: "New",
  assigned: "Preparing",
  ready: "Ready for pickup",
  picked_up: "Picked up",
  delivered: "Delivered",
  cancelled: "Cancelled",
};

export const TIER_LABELS = { area: "Area only", street: "Street", door: "Door" };

export const TIER_HELP = {
  area: "The street and map pin appear when you get close.",
  street: "The building and flat appear at the door.",
  door: "Full address for this delivery.",
};

export function statusLabel(status) {
  return STATUS_LABELS[status] || status;
}

export function formatDistance(m) {
  if (m === null || m === undefined || Number.isNaN(m)) return "";
  if (m < 1000) return `${Math.max(0, Math.round(m / 10) * 10)} m away`;
  return `${(m / 1000).toFixed(m < 10000 ? 1 : 0)} km away`;
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
  if (button.getAttribute("aria-busy") === "true") return undefined;
  button.setAttribute("aria-busy", "true");
  button.disabled = true;
  try {
    const result = await fn();
    if (ok) toast(typeof ok === "function" ? ok(result) : ok, "ok");
    return result;
  } catch (err) {
    toast(fail ? `${fail} ${err.detail || err.message || ""}`.trim() : (err.detail || err.message || "Something went wrong."), "error");
    throw err;
  } finally {
    button.removeAttribute("aria-busy");
    button.disabled = false;
  }
}

export function formatClock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
