// The store counter: today's queue (live over /ws/store/), mark ready, the packing list with sealed
// item names revealed on demand, the counter lookup (typed pickup number, or the rider's QR where the
// browser has BarcodeDetector), a dry-run check of the rider's code, the handoff, and today's
// handoffs with a one-minute undo. Socket frames carry no PII: an order event only triggers a re-fetch.
import { Alerts } from "../../common/alerts.js";
import { api, ApiError, ago, el, toast } from "../../common/api.js";
import { CallManager, ChatPanel } from "../../common/rtc.js";
import { LiveSocket } from "../../common/socket.js";
import { fmt, gettext, messageFor, MESSAGES } from "../../common/ui.js";

const $ = (id) => document.getElementById(id);
const cfg = JSON.parse($("console-config").textContent);

const STATUS = {
  created: gettext("New: pack it"),
  assigned: gettext("Rider assigned: pack it"),
  ready: gettext("Ready"),
  picked_up: gettext("Handed over"),
  delivered: gettext("Delivered"),
  cancelled: gettext("Cancelled"),
};
const OPEN = new Set(["created", "assigned", "ready"]);

// A plain message for every refusal; the machine code is shown beside it.
const REFUSALS = {
  unknown_code: [gettext("No bag with that number"), gettext("There is no bag here today with that number or code. Check it with the rider.")],
  wrong_rider: [gettext("Not this rider's bag"), gettext("This code is not from the rider assigned to this bag. Do not hand it over.")],
  not_ready: [gettext("Not ready yet"), gettext("This bag is not marked ready. Pack it and tap “Mark ready” first.")],
  already_picked_up: [gettext("Already handed over"), gettext("This bag was already given to its rider.")],
  cancelled: [gettext("Order cancelled"), gettext("This order was cancelled. Keep the bag and do not hand it over.")],
  expired_code: [gettext("Code expired"), gettext("The rider's code has expired. Ask them to show the new code on their phone.")],
  rate_limited: [gettext("Too many failed attempts"), gettext("The counter is paused for a minute. Dispatch has been told.")],
  offline: [gettext("No connection"), gettext("The counter cannot reach the server. Check the network and try again.")],
};
const REVEAL_FOR_MS = 120_000; // sealed item names disappear from the screen again after 2 minutes

const state = {
  orders: new Map(),
  cards: new Map(),
  revealed: new Map(), // order id -> {lines, timer}: in memory only, never stored
  bag: null, // the order the counter is looking at
  checked: null, // {order, rider_code} after a successful dry run
  history: [],
  loaded: false,
};

// --- Helpers --------------------------------------------------------------------------------------
function errorText(err, fallback = MESSAGES.error) {
  if (!(err instanceof ApiError)) return fallback;
  if (err.errors && typeof err.errors === "object") {
    const first = Object.values(err.errors).flat()[0];
    if (typeof first === "string") return first;
  }
  return messageFor(err, fallback);
}

async function busy(button, fn, label) {
  if (button.getAttribute("aria-busy") === "true") return undefined;
  const text = button.textContent;
  button.setAttribute("aria-busy", "true");
  button.disabled = true;
  if (label) button.textContent = label;
  try {
    return await fn();
  } finally {
    button.removeAttribute("aria-busy");
    button.disabled = false;
    if (label) button.textContent = text;
  }
}

function announce(text) {
  const node = $("announce");
  node.textContent = "";
  setTimeout(() => { node.textContent = text; }, 50);
}

const clock = (iso) => new Date(iso).toLocaleTimeString(document.documentElement.lang || [], { hour: "2-digit", minute: "2-digit" });
const spaced = (code) => String(code).split("").join(" ");
const riderLine = (o) => {
  if (!o.rider) return gettext("No rider assigned yet");
  const rider = fmt(gettext("Rider %(name)s"), { name: o.rider.name });
  return o.eta ? `${rider} · ${o.eta.label}` : rider;
};

function itemsText(items) {
  const parts = items.lines.map((l) => `${l.qty} × ${l.name}`);
  if (items.sensitive_count) parts.push(fmt(gettext("%(summary)s (name sealed)"), { summary: items.sensitive_summary }));
  return parts.join(", ") || gettext("No items");
}

function fieldError(id, message) {
  const node = $(id);
  node.textContent = message || "";
  node.hidden = !message;
  const input = node.closest("form").querySelector("input");
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

// --- Today's queue ------------------------------------------------------------------------------
function buildCard(order) {
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
    onclick: () => calls.start(id, "rider") }, "Call rider in the app");
  r.callCustomer = el("button", { type: "button", class: "btn btn-quiet", "data-action": "rtc-call-customer",
    onclick: () => calls.start(id, "customer") }, "Call customer in the app");
  r.chatBtn = el("button", { type: "button", class: "btn btn-quiet", "data-action": "chat", "aria-expanded": "false",
    onclick: (e) => toggleChats(id, r, e.currentTarget) }, "Messages");
  r.chats = el("div", { class: "oc-chats", hidden: true });
  r.root = el("li", { class: "order-card", dataset: { order: id }, "aria-labelledby": `oc-h-${id}` },
    el("h3", { class: "visually-hidden", id: `oc-h-${id}` }, `Bag ${order.pickup_code}`),
    r.codeSpoken, r.code,
    el("div", { class: "oc-body" }, el("p", { class: "oc-meta" }, r.status, " ", r.age), r.items, r.rider),
    el("div", { class: "oc-actions" }, r.ready, r.reveal, r.label, r.callRider, r.callCustomer, r.chatBtn), r.chats);
  return r;
}

// --- In-app calls and chat (no numbers) ----------------------------------------------------------
const chats = new Map(); // order id -> { rider: ChatPanel, customer: ChatPanel }
function toggleChats(id, r, button) {
  const open = r.chats.hidden;
  if (open && !chats.has(id)) {
    const pair = { rider: new ChatPanel({ send, me: "store", order: id, peer: "rider" }),
      customer: new ChatPanel({ send, me: "store", order: id, peer: "customer" }) };
    chats.set(id, pair);
    r.chats.replaceChildren(pair.rider.root, pair.customer.root);
    pair.rider.load();
    pair.customer.load();
  }
  r.chats.hidden = !open;
  button.setAttribute("aria-expanded", String(open));
}

function renderItems(r, order) {
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

function updateCard(r, order) {
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
}

function renderQueue(orders) {
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
    (OPEN.has(order.status) ? open : done).push(r.root);
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
  const time = new Date().toLocaleTimeString(document.documentElement.lang || [], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  $("summary").textContent = fmt(gettext("%(waiting)s waiting, %(ready)s ready · updated %(time)s"), { waiting: open.length, ready, time });
  if (state.bag && state.orders.has(state.bag.id)) showBag(state.orders.get(state.bag.id), { quiet: true });
}

async function markReady(id, button) {
  const order = state.orders.get(id) || state.bag;
  try {
    const updated = await busy(button, () => api(`/api/pickup/orders/${id}/ready/`, { method: "POST" }), gettext("Marking…"));
    toast(fmt(gettext("Bag %(code)s is ready. The rider has been told."), { code: updated.pickup_code }), "ok");
    announce(`Bag ${updated.pickup_code} marked ready.`);
    await refresh();
  } catch (err) {
    toast(fmt(gettext("Could not mark bag %(code)s ready: %(reason)s"), { code: order ? order.pickup_code : "", reason: errorText(err) }), "error");
  }
}

async function toggleReveal(id, button) {
  const held = state.revealed.get(id);
  if (held) {
    forget(id);
    button.focus();
    return;
  }
  try {
    const data = await busy(button, () => api(`/api/pickup/orders/${id}/packing/`), gettext("Opening…"));
    const timer = setTimeout(() => forget(id), REVEAL_FOR_MS);
    state.revealed.set(id, { lines: data.lines, timer });
    const r = state.cards.get(id);
    if (r) updateCard(r, state.orders.get(id));
    toast(gettext("Item names shown for packing for 2 minutes. This was logged."), "ok");
  } catch (err) {
    toast(fmt(gettext("Could not show the item names: %(reason)s"), { reason: errorText(err) }), "error");
  }
}

function forget(id) {
  const held = state.revealed.get(id);
  if (!held) return;
  clearTimeout(held.timer);
  state.revealed.delete(id);
  const r = state.cards.get(id);
  if (r && state.orders.has(id)) updateCard(r, state.orders.get(id));
}

// --- Today's handoffs ----------------------------------------------------------------------------
function renderHistory(entries) {
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

function tickUndo() {
  for (const button of document.querySelectorAll("#history [data-until]")) {
    const left = Math.ceil((new Date(button.dataset.until).getTime() - Date.now()) / 1000);
    if (left <= 0) {
      const wasFocused = document.activeElement === button;
      button.remove();
      if (wasFocused) $("history-heading").focus();
    } else if (button.getAttribute("aria-busy") !== "true") {
      button.textContent = `Undo (${left} s)`;
    }
  }
}

async function undoHandoff(entry, button) {
  try {
    const order = await busy(button, () => api(`/api/pickup/orders/${entry.order}/undo-handoff/`, { method: "POST" }),
      gettext("Undoing…"));
    toast(fmt(gettext("Bag %(code)s taken back: it is ready again. Keep it on the shelf."), { code: order.pickup_code }), "ok");
    announce(`Handoff of bag ${order.pickup_code} undone.`);
    if (state.bag && state.bag.id === order.id) showBag(order, { quiet: true });
    await refresh();
  } catch (err) {
    toast(fmt(gettext("Could not undo: %(reason)s"), { reason: errorText(err) }), "error");
    await refresh();
  }
}

// --- Loading ------------------------------------------------------------------------------------
let refreshing = null;
let again = false;

async function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    try {
      const [orders, history] = await Promise.all([api("/api/pickup/orders/"), api("/api/pickup/handoffs/")]);
      renderQueue(orders);
      renderHistory(history);
      state.loaded = true;
      document.body.dataset.ready = "true";
    } catch (err) {
      $("summary").textContent = `Could not load the queue: ${errorText(err)}`;
    }
  })();
  try {
    await refreshing;
  } finally {
    refreshing = null;
  }
  if (again) {
    again = false;
    await refresh();
  }
  return undefined;
}

let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 150);
}

// --- The counter: lookup, check, handoff ------------------------------------------------------
function showBag(order, { quiet = false } = {}) {
  state.bag = order;
  $("bag").hidden = false;
  $("bag").dataset.order = order.id;
  $("bag").dataset.status = order.status;
  $("bag-code").textContent = order.pickup_code;
  $("bag-code-spoken").textContent = `Pickup number ${spaced(order.pickup_code)}`;
  $("bag-status").textContent = STATUS[order.status] || order.status;
  $("bag-status").dataset.status = order.status;
  $("bag-rider").textContent = riderLine(order);
  $("bag-items").textContent = `${order.items.count} item${order.items.count === 1 ? "" : "s"}: ${itemsText(order.items)}`;
  $("bag-ready").hidden = !(order.status === "created" || order.status === "assigned");
  $("bag-label").href = order.label_url;
  $("bag-heading").textContent = `Bag ${order.pickup_code} found`;
  if (!quiet) $("pickup-input").value = order.pickup_code;
  if (state.checked && state.checked.order.id !== order.id) clearVerdict();
}

function clearBag() {
  state.bag = null;
  $("bag").hidden = true;
  clearVerdict();
  $("pickup-input").value = "";
  $("rider-code-input").value = "";
  fieldError("pickup-error", "");
  fieldError("rider-code-error", "");
  $("pickup-input").focus();
}

function clearVerdict() {
  state.checked = null;
  $("verdict").hidden = true;
  $("verdict-actions").hidden = true;
}

function verdict(kind, title, detail, code = "") {
  const box = $("verdict");
  box.hidden = false;
  box.dataset.kind = kind;
  $("verdict-title").textContent = title;
  $("verdict-detail").textContent = detail;
  $("verdict-code").textContent = "";
  $("verdict-code").hidden = true;
  box.dataset.code = code;
  $("verdict-actions").hidden = kind !== "ok";
  announce(`${title}. ${detail}`);
}

function refusal(err) {
  const code = err instanceof ApiError ? err.code : "error";
  const [title, help] = REFUSALS[code] || [gettext("Refused"), messageFor(err, errorText(err))];
  const detail = code === "rate_limited" ? err.detail : help;
  verdict("bad", title, detail, code);
  $("verdict").focus();
}

async function lookup({ code = "", riderCode = "" } = {}) {
  const query = riderCode ? `rider_code=${encodeURIComponent(riderCode)}` : `code=${encodeURIComponent(code)}`;
  const order = await api(`/api/pickup/lookup/?${query}`);
  showBag(order);
  return order;
}

$("lookup-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const code = $("pickup-input").value.trim();
  fieldError("pickup-error", "");
  clearVerdict();
  if (!code) {
    fieldError("pickup-error", gettext("Enter the pickup number the rider tells you."));
    $("pickup-input").focus();
    return;
  }
  try {
    await busy($("lookup-btn"), () => lookup({ code }), gettext("Finding…"));
    $("rider-code-input").focus();
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      fieldError("pickup-error", errorText(err));
      $("pickup-input").focus();
    } else {
      $("bag").hidden = true;
      state.bag = null;
      refusal(err);
    }
  }
});

$("pickup-input").addEventListener("input", () => {
  if (state.bag && $("pickup-input").value.trim().toUpperCase() !== state.bag.pickup_code) {
    state.bag = null;
    $("bag").hidden = true;
    clearVerdict();
  }
});
$("rider-code-input").addEventListener("input", () => {
  if (state.checked) clearVerdict();
  fieldError("rider-code-error", "");
});

async function check(riderCode) {
  clearVerdict();
  fieldError("rider-code-error", "");
  if (!/^\d{6}$/.test(riderCode)) {
    fieldError("rider-code-error", gettext("The rider's code is 6 digits."));
    $("rider-code-input").focus();
    return;
  }
  const button = $("check-btn");
  try {
    await busy(button, async () => {
      const typed = $("pickup-input").value.trim();
      if (!state.bag) await lookup(typed ? { code: typed } : { riderCode });
      const result = await api("/api/pickup/handoff/check/", {
        method: "POST", body: { pickup_code: state.bag.pickup_code, rider_code: riderCode } });
      showBag(result.order);
      state.checked = { order: result.order, rider_code: riderCode };
      verdict("ok", fmt(gettext("Yes: bag %(code)s may go"), { code: result.order.pickup_code }), result.detail);
      $("confirm-btn").textContent = `Hand over bag ${result.order.pickup_code}`;
      $("confirm-btn").focus();
    }, gettext("Checking…"));
  } catch (err) {
    const fields = (err instanceof ApiError && err.errors) || {};
    if (err instanceof ApiError && err.status === 400 && (fields.code || fields.pickup_code)) {
      fieldError("pickup-error", [fields.code, fields.pickup_code].flat().filter(Boolean)[0]);
      $("pickup-input").focus();
    } else if (err instanceof ApiError && err.status === 400) {
      fieldError("rider-code-error", errorText(err));
      $("rider-code-input").focus();
    } else {
      refusal(err);
    }
  }
}

$("handoff-form").addEventListener("submit", (e) => {
  e.preventDefault();
  check($("rider-code-input").value.replace(/\s+/g, ""));
});

$("confirm-btn").addEventListener("click", async (e) => {
  const held = state.checked;
  if (!held) return;
  try {
    const order = await busy(e.currentTarget, () => api("/api/pickup/handoff/", {
      method: "POST", body: { pickup_code: held.order.pickup_code, rider_code: held.rider_code } }), "Handing over…");
    state.checked = null;
    $("rider-code-input").value = "";
    showBag(order);
    verdict("done", `Bag ${order.pickup_code} handed over`,
      `Given to ${order.rider ? order.rider.name.replace(/\.$/, "") : "the rider"}. Tapped by mistake? Undo it under “Today's handoffs” within a minute.`);
    toast(fmt(gettext("Bag %(code)s handed over."), { code: order.pickup_code }), "ok");
    await refresh();
    $("verdict").focus();
  } catch (err) {
    refusal(err);
    await refresh();
  }
});

$("cancel-btn").addEventListener("click", () => {
  clearVerdict();
  $("rider-code-input").value = "";
  $("rider-code-input").focus();
  announce("Handoff cancelled.");
});
$("bag-clear").addEventListener("click", clearBag);
$("bag-ready").addEventListener("click", (e) => state.bag && markReady(state.bag.id, e.currentTarget));

// --- Scanning the rider's QR (progressive: typing always works) ---------------------------------
const scan = { stream: null, detector: null, timer: null };

// BarcodeDetector where the browser has it (not Chromium on Linux, not Firefox); else the vendored jsQR
// (static/vendor/jsqr/, loaded on the first scan) reading video frames from a canvas.
async function nativeQr() {
  if (!("BarcodeDetector" in window)) return false;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code");
  } catch {
    return false;
  }
}

async function scanSupported() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && (cfg.jsqr || (await nativeQr())));
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const tag = document.createElement("script");
    tag.src = src;
    tag.onload = resolve;
    tag.onerror = reject;
    document.head.append(tag);
  });
}

export function jsqrDetector() {
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  return {
    async detect(source) {
      const w = source.videoWidth || source.naturalWidth || source.width;
      const h = source.videoHeight || source.naturalHeight || source.height;
      if (!w || !h) return [];
      canvas.width = w;
      canvas.height = h;
      ctx.drawImage(source, 0, 0, w, h);
      const hit = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h);
      return hit ? [{ rawValue: hit.data, format: "qr_code" }] : [];
    },
  };
}

async function qrDetector() {
  if (await nativeQr()) return new window.BarcodeDetector({ formats: ["qr_code"] });
  if (!window.jsQR) await loadScript(cfg.jsqr);
  return jsqrDetector();
}

async function scanStart() {
  const status = $("scan-status");
  try {
    scan.detector = scan.detector || (await qrDetector());
    scan.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch {
    toast(gettext("The camera is not available. Type the rider's code instead."), "error");
    $("rider-code-input").focus();
    return;
  }
  const video = $("scan-video");
  video.srcObject = scan.stream;
  $("scan-view").hidden = false;
  $("scan-start").hidden = true;
  status.textContent = gettext("Hold the rider's phone in front of the camera.");
  await video.play().catch(() => {});
  scanLoop();
}

function scanStop() {
  clearTimeout(scan.timer);
  if (scan.stream) scan.stream.getTracks().forEach((t) => t.stop());
  scan.stream = null;
  $("scan-video").srcObject = null;
  $("scan-view").hidden = true;
  $("scan-start").hidden = false;
}

async function scanLoop() {
  if (!scan.stream) return;
  try {
    const found = await scan.detector.detect($("scan-video"));
    const value = found.length ? String(found[0].rawValue || "").trim() : "";
    if (/^\d{6}$/.test(value)) {
      scanStop();
      $("rider-code-input").value = value;
      toast(gettext("Rider's code scanned."), "ok");
      check(value);
      return;
    }
    if (value) {
      $("scan-status").textContent = value.startsWith("PD-")
        ? gettext("That is a bag label. Scan the code on the rider's phone.")
        : gettext("That is not a rider's code. Scan the code on the rider's phone.");
    }
  } catch { /* a frame that could not be read */ }
  scan.timer = setTimeout(scanLoop, 250);
}

scanSupported().then((ok) => {
  if (!ok) return;
  $("scan").hidden = false;
  $("scan-start").addEventListener("click", scanStart);
  $("scan-stop").addEventListener("click", () => { scanStop(); $("scan-start").focus(); });
});

// --- Live updates ---------------------------------------------------------------------------------
// A new order sounds, vibrates and stays highlighted (and in the alerts bar) until someone acknowledges it.
const NEW_TEXT = { title: gettext("New order"), text: (code) => fmt(gettext("bag %(code)s. Start packing."), { code }) };
const alerts = new Alerts({ onAck: () => markNew() });
function markNew() {
  for (const [id, r] of state.cards) {
    if (alerts.has(`order-${id}`)) r.root.dataset.new = "true";
    else delete r.root.dataset.new;
  }
}

const send = (message) => socket.send(message);
const calls = new CallManager({ send, me: "store" });
const socket = new LiveSocket("/ws/store/", {
  onEvent(msg) {
    if (calls.handle(msg)) return;
    let chatFrame = false;
    for (const pair of chats.values()) chatFrame = Boolean(pair.rider.handle(msg) | pair.customer.handle(msg)) || chatFrame;
    if (chatFrame) return;
    if (msg.type === "order.created") {
      announce(`New order: bag ${msg.pickup_code}.`);
      alerts.raise({ id: `order-${msg.order}`, order: msg.order, title: NEW_TEXT.title, text: NEW_TEXT.text(msg.pickup_code) });
      markNew();
    }
    if (typeof msg.type === "string" && msg.type.startsWith("order.")) scheduleRefresh();
  },
  onOpen: () => {
    scheduleRefresh();
    calls.reconnected();
    for (const pair of chats.values()) Object.values(pair).forEach((c) => c.load());
  },
});

setInterval(tickUndo, 1000);
setInterval(() => {
  for (const node of document.querySelectorAll("[data-role=age][data-created]")) {
    node.textContent = fmt(gettext("ordered %(ago)s ago"), { ago: ago(node.dataset.created) });
  }
}, 15_000);
setInterval(() => { if (document.visibilityState === "visible") refresh(); }, 60_000); // rider ETAs move on
window.addEventListener("pagehide", () => {
  scanStop();
  for (const id of [...state.revealed.keys()]) forget(id);
});

refresh();
