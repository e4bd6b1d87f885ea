// The merchant's webhook page: endpoints (add, rotate, delete), the secret shown once, the delivery log and
// "Redeliver". Everything comes from /api/webhooks/; the page holds no secret after it is dismissed.
import { api, errorText } from "../../common/api.js";
import { $, announce, el, fieldError, toast, whileBusy } from "../../common/dom.js";
import { clock, fmt, gettext } from "../../common/ui.js";

const config = JSON.parse($("hook-config").textContent);
const STATES = {
  active: gettext("active"),
  failing: gettext("failing"),
  pending: gettext("pending"),
  delivered: gettext("delivered"),
  failed: gettext("failed"),
};
let shown = null; // the endpoint whose log is open

function showSecret(secret) {
  $("secret-value").textContent = secret;
  $("secret-card").hidden = false;
  $("secret-card").focus();
}

$("secret-hide").addEventListener("click", () => {
  $("secret-value").textContent = "";
  $("secret-card").hidden = true;
});

function renderTypes() {
  const box = $("hook-types");
  for (const type of config.types) {
    const id = `type-${type.replace(/\W/g, "-")}`;
    box.append(el("label", { for: id }, el("input", { type: "checkbox", id, name: "events", value: type, checked: true }),
      el("code", {}, type)));
  }
}

async function removeEndpoint(hook, button) {
  if (!window.confirm(gettext("Delete this endpoint? Nothing more will be sent to it."))) return;
  await whileBusy(button, async () => {
    try {
      await api(`/api/webhooks/${hook.id}/`, { method: "DELETE" });
      if (shown === hook.id) $("log-card").hidden = true;
      toast(gettext("Endpoint deleted."));
      await load();
    } catch (err) {
      toast(errorText(err), "error");
    }
  });
}

async function rotate(hook, button) {
  await whileBusy(button, async () => {
    try {
      const out = await api(`/api/webhooks/${hook.id}/rotate/`, { method: "POST", body: {} });
      showSecret(out.secret);
      announce(gettext("New secret made. The old one still works for 24 hours."));
      await load();
    } catch (err) {
      toast(errorText(err), "error");
    }
  });
}

function endpointItem(hook) {
  const state = el("span", { class: "hook-state", dataset: { state: hook.state } }, STATES[hook.state] || hook.state);
  const overlap = hook.previous_secret_expires_at
    ? el("p", { class: "muted" }, fmt(gettext("The previous secret also signs until %(time)s."),
      { time: clock(hook.previous_secret_expires_at) }))
    : null;
  const logBtn = el("button", { type: "button", class: "btn btn-quiet", onclick: () => openLog(hook) },
    gettext("Deliveries"));
  const rotBtn = el("button", { type: "button", class: "btn btn-quiet" }, gettext("Rotate secret"));
  rotBtn.addEventListener("click", () => rotate(hook, rotBtn));
  const delBtn = el("button", { type: "button", class: "btn btn-danger" }, gettext("Delete"));
  delBtn.addEventListener("click", () => removeEndpoint(hook, delBtn));
  return el("li", { dataset: { hook: hook.id } },
    el("p", { class: "hook-url" }, hook.url),
    el("p", {}, state, " · ", hook.events.join(", ")),
    overlap,
    el("div", { class: "hook-actions" }, logBtn, rotBtn, delBtn));
}

async function load() {
  try {
    const hooks = await api("/api/webhooks/");
    $("hook-list").replaceChildren(...hooks.map(endpointItem));
    $("hook-empty").hidden = hooks.length > 0;
  } catch (err) {
    toast(errorText(err), "error");
  }
}

function answer(d) {
  if (d.last_status_code) return String(d.last_status_code);
  return d.last_error || "–";
}

async function redeliver(d, button) {
  await whileBusy(button, async () => {
    try {
      await api(`/api/webhooks/deliveries/${d.id}/redeliver/`, { method: "POST", body: {} });
      announce(fmt(gettext("Event %(id)s sent again."), { id: d.event_id }));
      toast(gettext("Sent again."));
      setTimeout(() => shown && openLog({ id: shown, url: $("log-for").textContent }), 1500);
    } catch (err) {
      toast(errorText(err), "error");
    }
  });
}

function logRow(d) {
  const btn = el("button", { type: "button", class: "btn btn-quiet", dataset: { redeliver: d.id } }, gettext("Redeliver"));
  btn.addEventListener("click", () => redeliver(d, btn));
  return el("tr", { dataset: { delivery: d.id } },
    el("td", {}, el("code", {}, d.type), el("br"), el("small", { class: "muted" }, d.event_id)),
    el("td", {}, d.order ?? "–"),
    el("td", { dataset: { state: d.state } }, STATES[d.state] || d.state),
    el("td", {}, d.attempts),
    el("td", {}, answer(d)),
    el("td", {}, btn));
}

async function openLog(hook) {
  shown = hook.id;
  try {
    const rows = await api(`/api/webhooks/${hook.id}/deliveries/`);
    $("log-for").textContent = hook.url;
    $("log-rows").replaceChildren(...rows.map(logRow));
    $("log-empty").hidden = rows.length > 0;
    $("log-card").hidden = false;
  } catch (err) {
    toast(errorText(err), "error");
  }
}

$("hook-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const url = $("hook-url").value.trim();
  const events = [...document.querySelectorAll("input[name=events]:checked")].map((box) => box.value);
  fieldError("hook-url-error", "", $("hook-url"));
  await whileBusy($("hook-add"), async () => {
    try {
      const out = await api("/api/webhooks/", { method: "POST", body: { url, events } });
      $("hook-form").reset();
      showSecret(out.secret);
      await load();
    } catch (err) {
      fieldError("hook-url-error", errorText(err), $("hook-url"));
    }
  });
});

renderTypes();
load();
