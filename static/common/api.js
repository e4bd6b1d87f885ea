// Small fetch wrapper: JSON in and out, CSRF from the cookie, errors as ApiError {status, code, detail}.
import { gettext, messageFor, MESSAGES } from "./ui.js";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `Request failed (${status})`);
    this.status = status;
    this.code = (body && body.code) || "error";
    this.detail = this.message;
    this.errors = (body && body.errors) || null;
  }
}

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

// `headers`: extra request headers (the portal's Idempotency-Key).
export async function api(path, { method = "GET", body, headers: extra = {} } = {}) {
  const headers = { Accept: "application/json", ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, { code: "offline", detail: gettext("No connection. Check your signal and try again.") });
  }
  const text = await response.text();
  let data;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// What to tell the person about a failed request: the first field error, else the code's message.
export function errorText(err, fallback = MESSAGES.error) {
  if (!(err instanceof ApiError)) return fallback;
  if (err.errors && typeof err.errors === "object") {
    const first = Object.values(err.errors).flat()[0];
    if (typeof first === "string") return first;
  }
  return messageFor(err, fallback);
}
