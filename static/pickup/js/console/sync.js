// Loading the queue and the handoffs: one fetch at a time; a refresh asked for meanwhile runs once after.
import { api, errorText } from "../../../common/api.js";
import { $ } from "../../../common/dom.js";
import { state } from "./state.js";

// What draws the answers: set by queue.js and history.js, which refresh through this module (so they cannot be
// imported from here: the hashed static names cannot be computed for an import cycle).
export const views = { queue: null, history: null };

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
      views.queue(orders);
      views.history(history);
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
