// The merchant's order list: filters (status, store), a search done by the server (`q`: the pickup number, or the
// start of your reference, among all your orders, not only the loaded rows), cursor paging from GET /api/orders/,
// and a light poll of the first page (there is no merchant socket): a status that
// changes shows within `poll_s` seconds while the tab is visible.
import { api, errorText } from "../../common/api.js";
import { $, el } from "../../common/dom.js";
import { fmt, formatTime, gettext, ngettext } from "../../common/ui.js";
import { cfg, poll, STATUS } from "./common.js";

const state = { rows: new Map(), next: null, q: "" };
const table = $("orders-table");

for (const s of cfg.statuses) $("f-status").append(el("option", { value: s }, STATUS[s] || s));
for (const s of cfg.stores) $("f-store").append(el("option", { value: String(s.id) }, s.name));
if (cfg.stores.length < 2) $("f-store").closest(".field").hidden = true;
const initial = new URLSearchParams(location.search);
$("f-status").value = cfg.statuses.includes(initial.get("status")) ? initial.get("status") : "";
$("f-store").value = cfg.stores.some((s) => String(s.id) === initial.get("store")) ? initial.get("store") : "";
$("f-q").value = (initial.get("q") || "").trim().slice(0, 64);
state.q = $("f-q").value;

function query(extra = {}) {
  const params = new URLSearchParams();
  if ($("f-status").value) params.set("status", $("f-status").value);
  if ($("f-store").value) params.set("store", $("f-store").value);
  if (state.q) params.set("q", state.q);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  return params;
}

const pathOf = (next) => { const u = new URL(next, location.href); return u.pathname + u.search; };
const sorted = () => [...state.rows.values()].sort((a, b) => (b.created_at.localeCompare(a.created_at)) || b.id - a.id);

function row(order) {
  const href = `/portal/orders/${order.id}/`;
  return el("tr", { dataset: { order: String(order.id), status: order.status } },
    el("th", { scope: "row" }, el("a", { class: "row-link", href }, order.pickup_code)),
    el("td", {}, order.external_ref || el("span", { class: "muted" }, "—")),
    el("td", {}, order.store ? order.store.name : ""),
    el("td", {}, `${order.customer.display_name} · ${order.customer.phone_masked}`),
    el("td", {}, el("span", { class: "badge", dataset: { status: order.status } }, STATUS[order.status] || order.status)),
    el("td", {}, el("time", { datetime: order.created_at }, formatTime(order.created_at, { dateStyle: "short", timeStyle: "short" }))));
}

function render() {
  const shown = sorted();
  $("orders-body").replaceChildren(...shown.map(row));
  let summary;
  if (state.q) summary = fmt(ngettext("%(n)s order matches “%(q)s”.", "%(n)s orders match “%(q)s”.", shown.length), { n: shown.length, q: state.q });
  else if (!shown.length) summary = gettext("No orders yet with these filters.");
  else summary = fmt(ngettext("%(n)s order shown, newest first.", "%(n)s orders shown, newest first.", shown.length), { n: shown.length });
  $("orders-summary").textContent = summary;
  $("more").hidden = !state.next;
  table.dataset.ready = "true";
}

function merge(results) {
  for (const order of results) state.rows.set(order.id, order);
}

async function loadFirst({ reset = false } = {}) {
  const page = await api(`/api/orders/?${query()}`);
  if (reset) {
    state.rows.clear();
    state.next = page.next;
  } else if (state.next === null && state.rows.size === 0) {
    state.next = page.next;
  }
  merge(page.results);
  render();
  $("live-note").textContent = fmt(gettext("Statuses refresh every %(s)s seconds. Last checked %(t)s."),
    { s: cfg.poll_s, t: formatTime(new Date(), { hour: "2-digit", minute: "2-digit", second: "2-digit" }) });
}

$("filters").addEventListener("submit", async (e) => {
  e.preventDefault();
  state.q = $("f-q").value.trim();
  const params = query();
  history.replaceState(null, "", params.toString() ? `?${params}` : location.pathname);
  try {
    await loadFirst({ reset: true });
  } catch (err) {
    $("orders-summary").textContent = errorText(err);
  }
});
for (const id of ["f-status", "f-store"]) $(id).addEventListener("change", () => $("filters").requestSubmit());

$("more").addEventListener("click", async () => {
  if (!state.next) return;
  const button = $("more");
  button.setAttribute("aria-busy", "true");
  try {
    const page = await api(pathOf(state.next));
    state.next = page.next;
    merge(page.results);
    render();
  } catch (err) {
    $("orders-summary").textContent = errorText(err);
  } finally {
    button.removeAttribute("aria-busy");
  }
});

poll(async () => {
  try {
    await loadFirst();
  } catch (err) {
    $("live-note").textContent = errorText(err);
    throw err;
  }
}, cfg.poll_s);
