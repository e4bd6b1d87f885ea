// Words for people: the page's language catalog (/jsi18n/, loaded before the modules), the one table of
// refusal codes → human messages, and numbers, times and distances in the page's language.

const catalog = globalThis.django || null;

export function gettext(text) {
  return catalog ? catalog.gettext(text) : text;
}

export function ngettext(singular, plural, n) {
  return catalog ? catalog.ngettext(singular, plural, n) : (n === 1 ? singular : plural);
}

// gettext with named placeholders: fmt(gettext("Bag %(code)s handed over."), { code: "27" }).
export function fmt(text, values) {
  return text.replace(/%\((\w+)\)s/g, (_, key) => (key in values ? String(values[key]) : ""));
}

// A sentence from a fragment that may already end in a full stop (a masked name "Mia L.").
export function sentence(text) {
  const s = String(text).trim();
  return /[.!?。！？]$/.test(s) ? s : s + gettext(".");
}

export function lang() {
  return document.documentElement.lang || "en";
}

export function formatTime(iso, options = { hour: "2-digit", minute: "2-digit" }) {
  const d = iso instanceof Date ? iso : new Date(iso);
  return new Intl.DateTimeFormat(lang(), options).format(d);
}

// A clock time in the page's language: "14:05" (or "14:05:09" with seconds).
export function clock(iso, { seconds = false } = {}) {
  const options = seconds ? { hour: "2-digit", minute: "2-digit", second: "2-digit" } : { hour: "2-digit", minute: "2-digit" };
  return new Date(iso).toLocaleTimeString(document.documentElement.lang || [], options);
}

export function formatNumber(n, options = {}) {
  return new Intl.NumberFormat(lang(), options).format(n);
}

export function formatDistance(metres) {
  if (metres >= 1000) {
    const digits = metres < 10000 ? 1 : 0; // "2.9 km", "3.0 km", "12 km"
    return new Intl.NumberFormat(lang(), { style: "unit", unit: "kilometer", minimumFractionDigits: digits,
      maximumFractionDigits: digits }).format(metres / 1000);
  }
  return new Intl.NumberFormat(lang(), { style: "unit", unit: "meter", maximumFractionDigits: 0 }).format(metres);
}

// Every refusal code the API and the sockets can return (tests/test_streetready.py checks the list against
// the server code): what the person at the counter, on the bike or at the board should read.
export const MESSAGES = {
  conflict: gettext("That cannot be done with this order right now."),
  error: gettext("Something went wrong. Please try again."),
  offline: gettext("No connection. Check your signal and try again."),
  invalid: gettext("Some of what was entered is not right. Check the highlighted fields."),
  malformed: gettext("The app sent something the server could not read. Reload the page."),
  unknown_type: gettext("The app sent a message the server does not know. Reload the page."),
  not_found: gettext("Not found, or not yours to see."),
  forbidden: gettext("Your account may not do this."),
  not_authenticated: gettext("You are logged out. Log in again."),
  authentication_failed: gettext("You are logged out. Log in again."),
  method_not_allowed: gettext("The app asked the server the wrong way. Reload the page."),
  unsupported_media_type: gettext("The app sent data the server does not accept. Reload the page."),
  rate_limited: gettext("Too many attempts. Wait a minute and try again."),
  locked_out: gettext("Too many failed logins. Wait, then try again."),
  quota_exceeded: gettext("The emergency reveal quota for today is used up. Ask a supervisor."),
  wrong_state: gettext("The order is not in a state that allows this."),
  unknown_rider: gettext("No such rider."),
  rider_off_duty: gettext("That rider is off duty. Choose another rider."),
  unknown_store: gettext("You may not post orders for that store."),
  store_required: gettext("Choose the store for this order."),
  unknown_code: gettext("No bag matches that number at this store. Check the pickup number."),
  expired_code: gettext("The rider's code has expired. Ask the rider to show a new one."),
  cancelled: gettext("This order was cancelled. Do not hand the bag over."),
  already_picked_up: gettext("This bag was already handed over."),
  not_ready: gettext("This bag is not marked ready yet."),
  wrong_rider: gettext("This code belongs to a different rider. Do not hand the bag over."),
  not_picked_up: gettext("The bag has not been picked up at the store yet."),
  undo_expired: gettext("The one-minute undo has passed. Call dispatch."),
  not_packing: gettext("This bag is no longer at the counter: its item names stay sealed."),
  already_delivered: gettext("This order is already delivered."),
  pin_locked: gettext("Too many wrong PINs. Call the customer or dispatch."),
  wrong_pin: gettext("That PIN is not right. Ask the customer again."),
  off_duty: gettext("You are off duty: your location is not recorded."),
  bad_coordinates: gettext("The location is not valid."),
  bad_accuracy: gettext("The location's accuracy is not valid."),
  bad_timestamp: gettext("The location's time is not plausible. Check the phone's clock."),
  call_window_closed: gettext("The after-sales call window is closed."),
  pool_exhausted: gettext("No virtual number is free right now. Try again in a minute."),
  no_rider: gettext("No rider is assigned yet."),
  withdraw_only: gettext("Marketing consent can only be withdrawn here."),
  stop_only: gettext("Messages can only be stopped here."),
  messages_stopped: gettext("Messages about this order are stopped."),
  busy: gettext("A call on this order is already going on."),
  invalid_party: gettext("That person cannot be reached in the app for this order."),
  no_break_glass: gettext("Open an emergency reveal with a reason before calling."),
  not_saved: gettext("Your position could not be saved yet. The app will send it again."),
  bad_reason: gettext("Give one of the listed reasons."),
  no_call_attempts: gettext("Call the customer in the app a few times first."),
  wait_not_over: gettext("Start the door wait and let it run out before reporting the customer unreachable."),
  retry_window_over: gettext("The retry window has closed: the bag is going back to the store."),
  returned: gettext("This bag came back from a failed delivery. Do not hand it over."),
  wrong_fleet: gettext("That rider rides in another merchant's own fleet. Choose a rider who may take this order."),
  note_required: gettext("Say what you did about this alert: a note is required."),
  offer_expired: gettext("This offer has expired."),
  offer_closed: gettext("This offer was already answered or taken back."),
  line_closed: gettext("Go on duty to reach dispatch."),
  rider_blocked: gettext("That rider blocked this customer: offer the order to someone else."),
  unsafe_url: gettext("That URL is not allowed: webhooks go only to public http(s) addresses."),
  bad_events: gettext("Choose one or more of the listed event types."),
  too_many_endpoints: gettext("This account has as many webhook endpoints as it may have. Delete one first."),
  endpoint_deleted: gettext("That endpoint was deleted."),
  out_of_area: gettext("That address is outside the store's delivery area."),
  window_in_past: gettext("That time has already passed."),
  bad_window: gettext("The delivery deadline must come after the pickup time."),
  unknown_quote: gettext("No such quote."),
  quote_expired: gettext("That quote has expired: ask for a new one."),
  quote_used: gettext("That quote was already used for an order."),
  quote_mismatch: gettext("The order's store or address is not the one quoted."),
  idempotency_mismatch: gettext("This Idempotency-Key was used for a different request."),
  bad_idempotency_key: gettext("An Idempotency-Key is 1 to 255 printable ASCII characters."),
  bad_cursor: gettext("That cursor is not one this list gave out."),
  photo_required: gettext("A delivery photo is needed: take it before delivering."),
  id_check_required: gettext("The ID check is needed: tick it and choose the document."),
  pin_required: gettext("Enter the customer's PIN."),
  photo_not_needed: gettext("This store does not ask for a delivery photo here."),
  not_an_image: gettext("That file is not a photo. Take the photo again."),
  photo_too_large: gettext("The photo is too large. Take it again at a lower size."),
  not_delivered: gettext("Feedback opens once your order is delivered."),
  feedback_exists: gettext("You already sent feedback on this order. Thank you."),
  feedback_empty: gettext("Choose a rating or an issue."),
};

// The human message for an ApiError (or {code, detail}); the server's own detail when the code is unknown.
export function messageFor(err, fallback = "") {
  const code = err && err.code;
  if (code && Object.prototype.hasOwnProperty.call(MESSAGES, code) && code !== "invalid" && code !== "error") {
    return MESSAGES[code];
  }
  return (err && err.detail) || fallback || MESSAGES.error;
}
