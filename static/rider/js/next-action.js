// The rider's next action and the door's labelled parts: words, the maps hand-off and copying the door code.
import { toast } from "../../common/dom.js";
import { gettext } from "../../common/ui.js";

export const NEXT_TEXT = {
  group: gettext("Next step"),
  code: gettext("Show code for the counter"),
  newCode: gettext("New code"),
  navigate: gettext("Navigate"),
  call: gettext("Call"),
  deliver: gettext("Deliver"),
  copy: gettext("Copy"),
  copied: gettext("Door code copied."),
  notCopied: gettext("Could not copy: read the code from the screen."),
};

export const DOOR_PART_LABELS = { building: gettext("Building"), unit: gettext("Unit"), door_code: gettext("Door code"),
  notes: gettext("Notes") };

// The phone's own map app: geo: on Android, Apple Maps on iOS, Amap for a phone set up for mainland China.
export function mapsLink(lat, lng, nav = navigator) {
  const ua = nav.userAgent || "";
  if (/iPhone|iPad|iPod/.test(ua)) return `https://maps.apple.com/?daddr=${lat},${lng}&dirflg=d`;
  if (/Android/.test(ua)) return `geo:${lat},${lng}?q=${lat},${lng}`;
  let zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch { /* no Intl */ }
  if (/^zh-(CN|Hans)/i.test(nav.language || "") || zone === "Asia/Shanghai" || zone === "Asia/Urumqi") {
    return `https://uri.amap.com/navigation?to=${lng},${lat}&mode=ride&coordinate=wgs84&callnative=1`;
  }
  return `geo:${lat},${lng}?q=${lat},${lng}`;
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast(NEXT_TEXT.copied, "ok");
  } catch {
    toast(NEXT_TEXT.notCopied, "error");
  }
}
