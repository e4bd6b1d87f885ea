// A new delivery: the form, the door on a map (a click sets latitude and longitude), items with a "sensitive"
// box, then "Get quote" (POST /api/quotes/) and "Create" (POST /api/orders/ with the quote and this form's own
// Idempotency-Key: a double click, or a retry after a lost answer, creates one order). The tracking link is shown
// once, from the create answer; the page keeps no copy of the customer's data anywhere but in its fields.
import { api, ApiError, errorText } from "../../common/api.js";
import { $, el, fieldError, toast, whileBusy } from "../../common/dom.js";
import { fmt, formatNumber, formatTime, gettext } from "../../common/ui.js";
import { cfg, makeMap, PORTAL_MESSAGES } from "./common.js";

const form = $("order-form");
const state = { quote: null, key: newKey(), marker: null, map: null, expiryTimer: null };

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function refusal(err) {
  if (err instanceof ApiError && PORTAL_MESSAGES[err.code]) return PORTAL_MESSAGES[err.code];
  return errorText(err);
}

// --- Items ---------------------------------------------------------------------------------------------------
let itemSeq = 0;
function addItem(focus = false) {
  itemSeq += 1;
  const n = itemSeq;
  const name = el("input", { id: `item-${n}-name`, name: "item-name", maxlength: "200", required: true });
  const qty = el("input", { id: `item-${n}-qty`, name: "item-qty", type: "number", min: "1", max: "999", value: "1", inputmode: "numeric" });
  const sensitive = el("input", { id: `item-${n}-sensitive`, name: "item-sensitive", type: "checkbox" });
  const remove = el("button", { type: "button", class: "btn btn-quiet" }, gettext("Remove"));
  const li = el("li", { class: "item-row" },
    el("div", { class: "field" }, el("label", { for: name.id }, gettext("Item")), name),
    el("div", { class: "field field-qty" }, el("label", { for: qty.id }, gettext("Quantity")), qty),
    el("div", { class: "checkbox" }, sensitive, el("label", { for: sensitive.id }, gettext("Sensitive"))),
    remove);
  remove.setAttribute("aria-label", fmt(gettext("Remove item %(n)s"), { n: $("items").children.length + 1 }));
  remove.addEventListener("click", () => {
    if ($("items").children.length > 1) li.remove();
    $("add-item").focus();
  });
  $("items").append(li);
  if (focus) name.focus();
}
addItem();
$("add-item").addEventListener("click", () => addItem(true));

// --- The door on the map ---------------------------------------------------------------------------------------
function storeOf(id) {
  return cfg.stores.find((s) => String(s.id) === String(id)) || cfg.stores[0];
}

function placeDoor(lat, lng, { pan = false } = {}) {
  const L = window.L;
  if (!state.map || !L) return;
  if (!state.marker) state.marker = L.marker([lat, lng], { title: gettext("The door"), alt: gettext("The door") }).addTo(state.map);
  else state.marker.setLatLng([lat, lng]);
  if (pan) state.map.panTo([lat, lng]);
}

{
  const store = storeOf($("o-store").value);
  state.map = store ? makeMap($("door-map"), "map-note", [store.lat, store.lng], 14) : null;
  if (state.map) {
    window.L.circleMarker([store.lat, store.lng], { radius: 9, color: "#0b0c0c", weight: 3, fillColor: "#1d70b8", fillOpacity: 1 })
      .bindTooltip(store.name).addTo(state.map);
    state.map.on("click", (e) => {
      $("o-lat").value = e.latlng.lat.toFixed(6);
      $("o-lng").value = e.latlng.lng.toFixed(6);
      placeDoor(e.latlng.lat, e.latlng.lng);
      staleQuote();
    });
  }
}
for (const id of ["o-lat", "o-lng"]) {
  $(id).addEventListener("change", () => {
    const lat = Number($("o-lat").value);
    const lng = Number($("o-lng").value);
    if ($("o-lat").value && $("o-lng").value && Number.isFinite(lat) && Number.isFinite(lng)) placeDoor(lat, lng, { pan: true });
    staleQuote();
  });
}
$("o-store").addEventListener("change", () => {
  const store = storeOf($("o-store").value);
  if (state.map && store) state.map.panTo([store.lat, store.lng]);
  staleQuote();
});

// --- Reading and checking the form ------------------------------------------------------------------------------
function coords() {
  const lat = Number($("o-lat").value.replace(",", "."));
  const lng = Number($("o-lng").value.replace(",", "."));
  const okLat = $("o-lat").value.trim() !== "" && Number.isFinite(lat) && lat >= -90 && lat <= 90;
  const okLng = $("o-lng").value.trim() !== "" && Number.isFinite(lng) && lng >= -180 && lng <= 180;
  fieldError("o-lat-error", okLat ? "" : gettext("Click the map, or type a latitude between -90 and 90."), $("o-lat"));
  fieldError("o-lng-error", okLng ? "" : gettext("Click the map, or type a longitude between -180 and 180."), $("o-lng"));
  return okLat && okLng ? { lat, lng } : null;
}

function required(id, text) {
  const ok = $(id).value.trim() !== "";
  fieldError(`${id}-error`, ok ? "" : text, $(id));
  return ok;
}

function body() {
  const place = coords();
  const ok = [
    required("o-name", gettext("Enter the customer's name.")),
    required("o-phone", gettext("Enter the customer's phone number.")),
    required("o-area", gettext("Enter the district or area.")),
    required("o-street", gettext("Enter the street and number.")),
  ].every(Boolean);
  const items = [...$("items").children].map((li) => ({
    name: li.querySelector("[name=item-name]").value.trim(),
    qty: Number(li.querySelector("[name=item-qty]").value || 1),
    sensitive: li.querySelector("[name=item-sensitive]").checked,
  })).filter((i) => i.name);
  if (!ok || !place) return null;
  if (!items.length) {
    formError(gettext("Add at least one item."));
    return null;
  }
  const out = {
    store: Number($("o-store").value),
    external_ref: $("o-ref").value.trim(),
    customer: {
      name: $("o-name").value.trim(), phone: $("o-phone").value.trim(), lat: place.lat, lng: place.lng,
      address: { area: $("o-area").value.trim(), street: $("o-street").value.trim(), building: $("o-building").value.trim(),
        unit: $("o-unit").value.trim(), notes: $("o-notes").value.trim() },
    },
    items,
    consent: { number_protection: $("o-protect").checked, marketing: $("o-marketing").checked },
  };
  return out;
}

function formError(text) {
  $("form-error").textContent = text;
  $("form-error").hidden = !text;
  if (text) $("form-error").focus();
}

// --- Quote -----------------------------------------------------------------------------------------------------
function showQuote(quote) {
  state.quote = quote;
  clearTimeout(state.expiryTimer);
  if (!quote) {
    $("quote-facts").hidden = true;
    $("create-btn").disabled = true;
    return;
  }
  const fee = Number(quote.fee);
  $("quote-fee").textContent = Number.isFinite(fee)
    ? formatNumber(fee, { style: "currency", currency: quote.currency || "EUR" }) : `${quote.fee} ${quote.currency || ""}`;
  $("quote-eta").textContent = fmt(gettext("%(min)s min"), { min: Math.max(1, Math.round(quote.eta_s / 60)) });
  $("quote-expires").textContent = formatTime(quote.expires_at);
  $("quote-facts").hidden = false;
  $("quote-text").textContent = gettext("Quote ready. Create the delivery before it expires.");
  $("create-btn").disabled = false;
  const left = new Date(quote.expires_at).getTime() - Date.now();
  state.expiryTimer = setTimeout(() => {
    showQuote(null);
    $("quote-text").textContent = PORTAL_MESSAGES.quote_expired;
  }, Math.max(0, left));
}

function staleQuote() {
  if (!state.quote) return;
  showQuote(null);
  $("quote-text").textContent = gettext("The door or the store changed: get a new quote.");
}

$("quote-btn").addEventListener("click", async () => {
  formError("");
  const place = coords();
  if (!place) {
    $("o-lat").focus();
    return;
  }
  try {
    await whileBusy($("quote-btn"), async () => {
      const quote = await api("/api/quotes/", { method: "POST", body: { store: Number($("o-store").value), customer: place } });
      showQuote(quote);
    }, { label: gettext("Getting a quote…") });
  } catch (err) {
    showQuote(null);
    $("quote-text").textContent = refusal(err);
    $("quote-text").dataset.code = err.code || "";
  }
});

// --- Create ------------------------------------------------------------------------------------------------------
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  formError("");
  if (!state.quote) return;
  const data = body();
  if (!data) {
    const first = form.querySelector("[aria-invalid=true]");
    if (first) first.focus();
    return;
  }
  data.quote = state.quote.id;
  try {
    const created = await whileBusy($("create-btn"), () => api("/api/orders/", {
      method: "POST", body: data, headers: { "Idempotency-Key": state.key },
    }), { label: gettext("Creating…") });
    if (created === undefined) return; // a second click while the first is on its way
    done(created);
  } catch (err) {
    if (err instanceof ApiError && ["quote_expired", "quote_used", "quote_mismatch"].includes(err.code)) showQuote(null);
    formError(refusal(err));
  }
});

function done(created) {
  clearTimeout(state.expiryTimer);
  form.reset(); // the customer's data leaves the page's fields
  form.hidden = true;
  state.key = newKey();
  $("created-text").textContent = fmt(gettext("The order for %(name)s (%(phone)s) is in. Pickup number: %(code)s."),
    { code: created.pickup_code, name: created.customer.display_name, phone: created.customer.phone_masked });
  $("tracking-url").value = created.tracking_url;
  $("created-open").href = `/portal/orders/${created.id}/`;
  $("created").dataset.order = String(created.id);
  $("created").hidden = false;
  $("created-heading").focus();
}

$("copy-btn").addEventListener("click", async () => {
  const input = $("tracking-url");
  try {
    await navigator.clipboard.writeText(input.value);
    toast(gettext("Link copied."), "ok");
  } catch {
    input.select(); // no clipboard permission: the link is selected for Ctrl+C
    toast(gettext("Press Ctrl+C (or ⌘C) to copy the selected link."));
  }
});

document.body.dataset.ready = "true";
