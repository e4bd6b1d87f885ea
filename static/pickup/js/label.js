// The privacy label: a print button and the paper size (80 mm thermal roll or A6), remembered on this device.
const label = document.getElementById("label");
const KEY = "pickup-label-size";

function setSize(size) {
  label.dataset.size = size === "a6" ? "a6" : "roll80";
  for (const input of document.querySelectorAll("input[name=size]")) input.checked = input.value === label.dataset.size;
}

try { setSize(localStorage.getItem(KEY) || "roll80"); } catch { setSize("roll80"); }

for (const input of document.querySelectorAll("input[name=size]")) {
  input.addEventListener("change", () => {
    setSize(input.value);
    try { localStorage.setItem(KEY, label.dataset.size); } catch { /* private mode: fine */ }
  });
}

document.getElementById("print-btn").addEventListener("click", () => window.print());
document.body.dataset.ready = "true";
