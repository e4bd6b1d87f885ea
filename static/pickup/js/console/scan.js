// Scanning the rider's QR (progressive: typing always works).
import { $, toast } from "../../../common/dom.js";
import { gettext } from "../../../common/ui.js";
import { cfg, late } from "./state.js";

export const scan = { stream: null, detector: null, timer: null };

// BarcodeDetector where the browser has it (not Chromium on Linux, not Firefox); else the vendored jsQR
// (static/vendor/jsqr/, loaded on the first scan) reading video frames from a canvas.
export async function nativeQr() {
  if (!("BarcodeDetector" in window)) return false;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code");
  } catch {
    return false;
  }
}

export async function scanSupported() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && (cfg.jsqr || (await nativeQr())));
}

export function loadScript(src) {
  return new Promise((resolve, reject) => {
    const tag = document.createElement("script");
    tag.src = src;
    tag.onload = resolve;
    tag.onerror = reject;
    document.head.append(tag);
  });
}

export function jsqrDetector() {
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  return {
    async detect(source) {
      const w = source.videoWidth || source.naturalWidth || source.width;
      const h = source.videoHeight || source.naturalHeight || source.height;
      if (!w || !h) return [];
      canvas.width = w;
      canvas.height = h;
      ctx.drawImage(source, 0, 0, w, h);
      const hit = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h);
      return hit ? [{ rawValue: hit.data, format: "qr_code" }] : [];
    },
  };
}

export async function qrDetector() {
  if (await nativeQr()) return new window.BarcodeDetector({ formats: ["qr_code"] });
  if (!window.jsQR) await loadScript(cfg.jsqr);
  return jsqrDetector();
}

export async function scanStart() {
  const status = $("scan-status");
  try {
    scan.detector = scan.detector || (await qrDetector());
    scan.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch {
    toast(gettext("The camera is not available. Type the rider's code instead."), "error");
    $("rider-code-input").focus();
    return;
  }
  const video = $("scan-video");
  video.srcObject = scan.stream;
  $("scan-view").hidden = false;
  $("scan-start").hidden = true;
  status.textContent = gettext("Hold the rider's phone in front of the camera.");
  await video.play().catch(() => {});
  scanLoop();
}

export function scanStop() {
  clearTimeout(scan.timer);
  if (scan.stream) scan.stream.getTracks().forEach((t) => t.stop());
  scan.stream = null;
  $("scan-video").srcObject = null;
  $("scan-view").hidden = true;
  $("scan-start").hidden = false;
}

export async function scanLoop() {
  if (!scan.stream) return;
  try {
    const found = await scan.detector.detect($("scan-video"));
    const value = found.length ? String(found[0].rawValue || "").trim() : "";
    if (/^\d{6}$/.test(value)) {
      scanStop();
      $("rider-code-input").value = value;
      toast(gettext("Rider's code scanned."), "ok");
      late.check(value);
      return;
    }
    if (value) {
      $("scan-status").textContent = value.startsWith("PD-")
        ? gettext("That is a bag label. Scan the code on the rider's phone.")
        : gettext("That is not a rider's code. Scan the code on the rider's phone.");
    }
  } catch { /* a frame that could not be read */ }
  scan.timer = setTimeout(scanLoop, 250);
}

scanSupported().then((ok) => {
  if (!ok) return;
  $("scan").hidden = false;
  $("scan-start").addEventListener("click", scanStart);
  $("scan-stop").addEventListener("click", () => { scanStop(); $("scan-start").focus(); });
});
