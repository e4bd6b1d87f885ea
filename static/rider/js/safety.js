// The rider's safety: SOS (with a confirm step against pocket presses), calls and messages to dispatch over the
// rider's line (no order, no customer data), and reporting or blocking a customer.
//   const safety = initSafety({ cfg, calls, send, lastFix: () => tracker.lastFix });
//   socket onEvent: if (safety.handle(msg)) return;   socket onOpen: safety.reconnected();
import { api, errorText } from "../../common/api.js";
import { $, toast } from "../../common/dom.js";
import { ChatPanel } from "../../common/chat.js";
import { gettext } from "../../common/ui.js";

const FIX_FRESH_MS = 120_000; // a fix older than this is not "the rider's position" any more
const FIX_WAIT_MS = 5_000; // how long an SOS waits for a new fix before it goes without one

function freshPosition(lastFix) {
  const fix = lastFix();
  if (fix && Date.now() - fix.timestamp < FIX_FRESH_MS) return Promise.resolve(fix);
  if (!("geolocation" in navigator)) return Promise.resolve(null);
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (pos) => resolve({ lat: pos.coords.latitude, lng: pos.coords.longitude, accuracy: pos.coords.accuracy }),
      () => resolve(null), { enableHighAccuracy: true, timeout: FIX_WAIT_MS, maximumAge: FIX_FRESH_MS });
  });
}

export function initSafety({ cfg, calls, send, lastFix }) {
  const line = Number(cfg.rider_id);
  const status = $("sos-status");
  const chatBox = $("line-chat");
  const opener = $("line-open");
  const chat = new ChatPanel({ send, me: "rider", line, peer: "dispatch", title: gettext("Messages with dispatch") });
  chatBox.append(chat.root);
  let loaded = false;

  function openChat({ focus = true } = {}) {
    chatBox.hidden = false;
    opener.setAttribute("aria-expanded", "true");
    if (!loaded) { loaded = true; chat.load(); }
    if (focus) chat.input.focus();
  }

  function callDispatch() {
    openChat({ focus: false });
    calls.startLine(line, "dispatch");
  }

  // --- SOS ---------------------------------------------------------------------------------------------
  const dialog = $("sos-dialog");
  $("sos-btn").addEventListener("click", () => {
    $("sos-form").reset();
    dialog.showModal();
    $("sos-title").focus();
  });
  $("sos-form").addEventListener("submit", async (event) => {
    if (!event.submitter || event.submitter.value !== "send") return; // Cancel closes the dialog
    event.preventDefault();
    const note = $("sos-note").value.trim();
    dialog.close();
    status.dataset.state = "sending";
    status.textContent = gettext("Sending the SOS…");
    const fix = await freshPosition(lastFix);
    const body = fix ? { lat: fix.lat, lng: fix.lng, accuracy: fix.accuracy } : {};
    if (note) body.note = note;
    try {
      const data = await api("/api/rider/sos/", { method: "POST", body });
      status.dataset.state = data.position ? "sent" : "sent-no-position";
      status.textContent = data.position
        ? gettext("SOS sent with your exact position. Calling dispatch…")
        : gettext("SOS sent without your position: location is blocked or unavailable. Tell dispatch where you are. Calling dispatch…");
      callDispatch();
    } catch (err) {
      status.dataset.state = "failed";
      status.textContent = `${gettext("The SOS could not be sent:")} ${errorText(err, gettext("no connection"))} ${gettext("Try again, or call the emergency services.")}`;
      toast(status.textContent, "error");
    }
  });

  document.querySelectorAll("[data-call-dispatch]").forEach((b) => b.addEventListener("click", callDispatch));
  opener.addEventListener("click", () => {
    if (chatBox.hidden) openChat();
    else { chatBox.hidden = true; opener.setAttribute("aria-expanded", "false"); }
  });

  return {
    handle(msg) {
      if (!msg || typeof msg.type !== "string") return false;
      const mine = msg.line != null && Number(msg.line) === line;
      if (msg.type === "chat.message" && mine && msg.from === "dispatch" && chatBox.hidden) openChat({ focus: false });
      if (msg.type === "error" && msg.for === "chat.send" && msg.code === "line_closed") chat.handle(msg);
      return mine && msg.type.startsWith("chat.") ? chat.handle(msg) || true : false;
    },
    reconnected() {
      if (loaded) chat.load();
    },
  };
}

// --- Report or block a customer (from an order's screen) ---------------------------------------------------
let reportOrder = null;
export function openReport(orderId) {
  reportOrder = orderId;
  $("report-form").reset();
  $("report-error").hidden = true;
  $("report-dialog").showModal();
  $("report-title").focus();
}

const reportForm = document.getElementById("report-form");
if (reportForm) {
  reportForm.addEventListener("submit", async (event) => {
    if (!event.submitter || event.submitter.value !== "send") return;
    event.preventDefault();
    const block = $("report-block").checked;
    const body = { reason: $("report-reason").value, block };
    const note = $("report-note").value.trim();
    if (note) body.note = note;
    try {
      await api(`/api/rider/orders/${reportOrder}/report/`, { method: "POST", body });
      $("report-dialog").close();
      toast(block ? gettext("Reported and blocked: you will not be offered this customer's orders again.")
        : gettext("Reported. Dispatch will look at it."), "ok");
    } catch (err) {
      const box = $("report-error");
      box.hidden = false;
      box.textContent = errorText(err, gettext("Could not send the report."));
    }
  });
}
