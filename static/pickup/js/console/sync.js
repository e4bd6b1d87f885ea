// Loading the queue and the handoffs: one fetch at a time; a refresh asked for meanwhile runs once after.
import { api, errorText } from "../../../common/api.js";
import { $ } from "../../../common/dom.js";
import { renderHistory } from "./history.js";
import { renderQueue } from "./queue.js";
import { state } from "./state.js";

let refreshing = null;
let again = false;

export async function refresh() {
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
export function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 150);
}
