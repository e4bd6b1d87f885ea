// "Is this bag mine?": the rider types the pickup number on a bag; the server answers yes (with the
// order) or no, and never says anything about another rider's order.
import { api } from "../../common/api.js";
import { el, setBusy } from "../../common/dom.js";
import { fmt, gettext } from "../../common/ui.js";
import { statusLabel } from "./format.js";

const form = document.getElementById("bag-check");
const select = document.getElementById("bag-store");
const result = document.getElementById("bag-result");

async function loadStores() {
  try {
    const stores = await api("/api/stores/");
    select.replaceChildren(
      el("option", { value: "" }, stores.length ? gettext("Choose the store") : gettext("No store: you have no active order")),
      ...stores.map((s) => el("option", { value: s.id }, s.name)));
    if (stores.length === 1) select.value = String(stores[0].id);
  } catch {
    select.replaceChildren(el("option", { value: "" }, gettext("Stores could not load")));
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = document.getElementById("bag-code").value.trim();
  if (!select.value || !code) {
    result.textContent = gettext("Choose the store and type the number on the bag.");
    result.dataset.kind = "error";
    return;
  }
  const button = form.querySelector("button");
  setBusy(button, true, { disable: true });
  try {
    const check = await api(`/api/rider/pickup-check/?store=${encodeURIComponent(select.value)}&code=${encodeURIComponent(code)}`);
    result.dataset.kind = check.mine ? "ok" : "error";
    result.textContent = check.mine
      ? fmt(gettext("Yes: bag %(code)s is yours (%(status)s). Show your counter code."), { code: check.pickup_code, status: statusLabel(check.status) })
      : fmt(gettext("No: bag %(code)s is not one of your orders at this store. Do not take it."), { code });
  } catch (err) {
    result.dataset.kind = "error";
    result.textContent = err.detail || gettext("Could not check the bag.");
  } finally {
    setBusy(button, false, { disable: true });
  }
});

loadStores();
