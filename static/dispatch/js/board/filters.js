// The orders' filters: status, store, fleet and pickup number, applied by the server (query parameters on
// GET /api/dispatch/orders/) and kept in the page's address, so a reload or a shared link shows the same view.
// A select applies at once; the pickup number after a pause in typing (or Enter).
import { $, el } from "../../../common/dom.js";
import { fmt, gettext } from "../../../common/ui.js";
import { late, OPEN_STATUSES, state, STATUS } from "./state.js";

const FIELDS = ["q", "status", "store", "fleet"];
const TYPING_MS = 300;
const form = $("filters");

function field(name) {
  return $(`filter-${name}`);
}

// Keep an option for a value that came from the address even before its list has loaded.
function ensureOption(select, value, label) {
  if (!value || [...select.options].some((o) => o.value === value)) return;
  select.append(el("option", { value }, label));
}

export function filtersInit() {
  const params = new URLSearchParams(window.location.search);
  for (const name of FIELDS) state.filters[name] = (params.get(name) || "").trim();
  field("status").append(...OPEN_STATUSES.map((s) => el("option", { value: s }, STATUS[s] || s)));
  ensureOption(field("store"), state.filters.store, fmt(gettext("Store %(id)s"), { id: state.filters.store }));
  ensureOption(field("fleet"), state.filters.fleet, fleetLabel(state.filters.fleet));
  for (const name of FIELDS) field(name).value = state.filters[name];
}

export function fillStoreFilter(stores) {
  const select = field("store");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, gettext("All stores")),
    ...stores.map((s) => el("option", { value: s.id }, s.name)));
  select.value = chosen;
}

function fleetLabel(fleet) {
  if (fleet === "platform") return gettext("Platform riders");
  const m = /^merchant:(\d+)$/.exec(fleet || "");
  return m ? fmt(gettext("Merchant %(id)s's own riders"), { id: m[1] }) : fleet;
}

// The fleets the riders on duty belong to (each rider's `fleet`), beside the platform's.
export function fillFleetFilter() {
  const select = field("fleet");
  const fleets = new Set(["platform"]);
  for (const r of state.riders.values()) if (r.fleet) fleets.add(r.fleet);
  if (state.filters.fleet) fleets.add(state.filters.fleet);
  const have = [...select.options].map((o) => o.value).filter(Boolean);
  const want = [...fleets].sort();
  if (have.join() === want.join()) return;
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, gettext("All fleets")),
    ...want.map((f) => el("option", { value: f }, fleetLabel(f))));
  select.value = chosen;
}

function apply() {
  const next = Object.fromEntries(FIELDS.map((name) => [name, field(name).value.trim()]));
  if (FIELDS.every((name) => next[name] === state.filters[name])) return;
  Object.assign(state.filters, next);
  const params = new URLSearchParams();
  for (const name of FIELDS) if (next[name]) params.set(name, next[name]);
  const query = params.toString();
  window.history.replaceState(null, "", `${window.location.pathname}${query ? `?${query}` : ""}`);
  form.dataset.active = query ? "true" : "false";
  state.refiltered = true; // the orders this brings into view are not new arrivals
  late.refreshOrders();
}

let typing = null;
form.addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(typing);
  apply();
});
form.addEventListener("change", (event) => {
  if (event.target.tagName === "SELECT") apply();
});
field("q").addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(apply, TYPING_MS);
});
form.addEventListener("reset", () => setTimeout(() => {
  for (const name of FIELDS) field(name).value = "";
  apply();
}, 0));

late.ridersShown = fillFleetFilter;
