// The tracking page's messages card: notifications on this device (Web Push, after the customer taps the
// button) and "stop messages". The subscription goes to the server once; the worker caches nothing.
import { api, errorText } from "../../../common/api.js";
import { $, el, isBusy, toast } from "../../../common/dom.js";
import { gettext } from "../../../common/ui.js";

function b64ToBytes(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

export function setupMessages({ base, sw }) {
  const card = $("messages-card");
  const out = $("messages-result");
  const pushBtn = $("push-btn");
  const stopBtn = $("messages-stop-btn");
  let state = null;

  function render() {
    if (!state) return;
    card.hidden = false;
    card.dataset.stopped = String(state.opted_out);
    stopBtn.hidden = state.opted_out;
    pushBtn.hidden = state.opted_out || state.push_subscribed || !state.push_key || !pushSupported();
    $("messages-stopped").hidden = !state.opted_out;
    $("push-on").hidden = !state.push_subscribed || state.opted_out;
  }

  async function load() {
    try {
      state = await api(`${base}messages/`);
      render();
    } catch {
      /* the page's main read reports the link's state */
    }
  }

  async function subscribe() {
    const registration = await navigator.serviceWorker.register(sw, { scope: location.pathname });
    await navigator.serviceWorker.ready;
    if ((await Notification.requestPermission()) !== "granted") {
      throw new Error(gettext("Notifications are blocked for this site in your browser's settings."));
    }
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: b64ToBytes(state.push_key),
    });
    const json = subscription.toJSON();
    return api(`${base}push/`, { method: "POST", body: { endpoint: json.endpoint, keys: json.keys } });
  }

  pushBtn.addEventListener("click", async () => {
    if (isBusy(pushBtn)) return;
    pushBtn.setAttribute("aria-busy", "true");
    try {
      state = await subscribe();
      out.replaceChildren(el("p", { class: "call-ok" }, gettext("Done. This device will tell you when your rider is near.")));
      render();
    } catch (err) {
      const text = err && err.code ? errorText(err) : (err && err.message) || gettext("That did not work. Please try again.");
      out.replaceChildren(el("p", { class: "error" }, text));
      toast(text, "error");
    } finally {
      pushBtn.removeAttribute("aria-busy");
    }
  });

  stopBtn.addEventListener("click", async () => {
    if (isBusy(stopBtn)) return;
    stopBtn.setAttribute("aria-busy", "true");
    try {
      state = await api(`${base}messages/`, { method: "POST", body: { stop: true } });
      out.replaceChildren(el("p", { class: "call-ok" }, gettext("Done. We will not send you any more messages about this order.")));
      if ("serviceWorker" in navigator) {
        const registration = await navigator.serviceWorker.getRegistration(location.pathname);
        const subscription = registration && (await registration.pushManager.getSubscription());
        if (subscription) await subscription.unsubscribe();
      }
      render();
    } catch (err) {
      const text = errorText(err, gettext("That did not work. Please try again."));
      out.replaceChildren(el("p", { class: "error" }, text));
      toast(text, "error");
    } finally {
      stopBtn.removeAttribute("aria-busy");
    }
  });

  load();
}
