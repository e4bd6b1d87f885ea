// The page, for every screen: an element by id, a new element, a toast, "… ago", a polite announcement, a field's
// error, and a button that shows it is busy (aria-busy) while its action runs. It imports nothing.

export const $ = (id) => document.getElementById(id);

export function toast(message, kind = "info") {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = message;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(toast._t);
  toast._t = setTimeout(() => { el.hidden = true; }, 4000);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function ago(iso) {
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

// Say a sentence in the live region `id` (cleared first, so the same words are announced again).
export function announce(text, id = "announce") {
  const node = $(id);
  node.textContent = "";
  setTimeout(() => { node.textContent = text; }, 50);
}

// Show (or clear, with no text) the error under a field, and mark the field invalid. Without `input`, the
// first <input> of the error's form.
export function fieldError(id, text, input = undefined) {
  const node = $(id);
  node.textContent = text || "";
  node.hidden = !text;
  const field = input === undefined ? node.closest("form").querySelector("input") : input;
  if (!field) return;
  if (text) field.setAttribute("aria-invalid", "true");
  else field.removeAttribute("aria-invalid");
}

export const isBusy = (button) => button.getAttribute("aria-busy") === "true";

// Busy: aria-busy, and either `disabled` (`disable: true`) or aria-disabled (the button keeps its focus);
// with `label`, the button says it while busy and gets its own words back after.
export function setBusy(button, busy, { label = "", disable = false } = {}) {
  if (busy) {
    button.setAttribute("aria-busy", "true");
    if (disable) button.disabled = true;
    else button.setAttribute("aria-disabled", "true");
    if (label) {
      button.dataset.label = button.textContent;
      button.textContent = label;
    }
  } else {
    button.removeAttribute("aria-busy");
    if (disable) button.disabled = false;
    else button.removeAttribute("aria-disabled");
    if (button.dataset.label !== undefined) {
      button.textContent = button.dataset.label;
      delete button.dataset.label;
    }
  }
}

// Run `fn` with the button busy (and disabled) meanwhile; a second tap while it runs does nothing (undefined).
export async function whileBusy(button, fn, { label = "", disable = true } = {}) {
  if (isBusy(button)) return undefined;
  setBusy(button, true, { label, disable });
  try {
    return await fn();
  } finally {
    setBusy(button, false, { disable });
  }
}
