// Proof of delivery on an order's screen, as the store's policy asks (the order's `pod`): a photo taken with the
// phone's camera (previewed, uploaded with progress, retried on failure), an ID check (only that it was done and
// the kind of document: never a number or a picture of it), and the customer's PIN. The photo goes to the server
// alone (POST /api/rider/orders/{id}/pod-photo/); the service worker caches no /api/ request, and the preview is
// a data: URL in this page's memory only.
import { el } from "../../common/dom.js";
import { fmt, gettext, messageFor } from "../../common/ui.js";

const DOCUMENTS = {
  id_card: gettext("ID card"),
  passport: gettext("Passport"),
  driver_licence: gettext("Driving licence"),
  residence_permit: gettext("Residence permit"),
  other: gettext("Other official ID"),
};
const HINTS = {
  photo: gettext("Take a photo of the bag handed over. No PIN is needed."),
  pin_photo: gettext("Take a photo of the bag handed over, then enter the customer's PIN."),
  id_check: gettext("Check the customer's ID before handing over: this store sells age-restricted or pharmacy items."),
  leave_at_door: gettext("Leave the bag at the door and take a photo of it there. No PIN is needed."),
};

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export function buildPod(view) {
  const r = view.r;
  const id = view.id;
  r.podHint = el("p", { class: "pod-hint", "data-role": "pod-hint", hidden: true });
  r.photoInput = el("input", { type: "file", accept: "image/*", capture: "environment", id: `photo-${id}`,
    class: "photo-input", "data-role": "photo-input", onchange: () => view.photoChosen() });
  r.photoPreview = el("img", { class: "photo-preview", alt: gettext("Your delivery photo"), hidden: true });
  r.photoProgress = el("progress", { class: "photo-progress", max: "100", value: "0", hidden: true });
  r.photoStatus = el("p", { class: "photo-status", "data-role": "photo-status", role: "status", "aria-live": "polite" });
  r.photoRetry = el("button", { type: "button", class: "btn btn-block", "data-action": "photo-retry", hidden: true,
    onclick: () => view.photoUpload() }, gettext("Try the upload again"));
  r.photoBlock = el("div", { class: "pod-photo-block", hidden: true },
    el("label", { for: `photo-${id}`, class: "btn btn-block photo-take" }, gettext("Take a photo of the delivery")),
    r.photoInput, r.photoPreview, r.photoProgress, r.photoStatus, r.photoRetry);
  r.idChecked = el("input", { type: "checkbox", id: `idc-${id}`, name: "id_checked", "data-role": "id-checked" });
  r.idDocument = el("select", { id: `idd-${id}`, name: "id_document", "data-role": "id-document" },
    el("option", { value: "" }, gettext("Choose the document")),
    ...Object.entries(DOCUMENTS).map(([value, label]) => el("option", { value }, label)));
  r.idErr = el("p", { class: "pod-error", role: "alert" }); // not .field-error: that one is the PIN's
  r.idBlock = el("fieldset", { class: "pod-id-block", hidden: true },
    el("legend", {}, gettext("ID check")),
    el("div", { class: "check-row" }, r.idChecked, el("label", { for: `idc-${id}` }, gettext("I checked the customer's ID"))),
    el("label", { for: `idd-${id}` }, gettext("Document seen")), r.idDocument,
    el("p", { class: "muted" }, gettext("Do not write down or photograph the document.")), r.idErr);
  return [r.podHint, r.photoBlock, r.idBlock];
}

export const podActions = {
  updatePod(order) {
    const r = this.r;
    const pod = order.pod || { policy: "pin", pin: true, photo: false, id_check: false, photo_taken: false };
    this.pod = pod;
    this.root.dataset.pod = pod.policy;
    r.podHint.hidden = !HINTS[pod.policy];
    r.podHint.textContent = HINTS[pod.policy] || "";
    r.photoBlock.hidden = !pod.photo;
    r.idBlock.hidden = !pod.id_check;
    r.pinBlock.hidden = !pod.pin;
    if (pod.photo && pod.photo_taken && !this.photoBusy && !r.photoStatus.textContent) {
      r.photoStatus.textContent = gettext("Photo saved.");
    }
  },

  photoChosen() {
    const file = this.r.photoInput.files && this.r.photoInput.files[0];
    if (!file) return;
    this.photoFile = file;
    const reader = new FileReader();
    reader.onload = () => {
      this.r.photoPreview.src = reader.result;
      this.r.photoPreview.hidden = false;
    };
    reader.readAsDataURL(file);
    this.photoUpload();
  },

  photoUpload() {
    const r = this.r;
    if (!this.photoFile || this.photoBusy) return Promise.resolve();
    this.photoBusy = true;
    r.photoRetry.hidden = true;
    r.photoProgress.hidden = false;
    r.photoProgress.value = 0;
    r.photoStatus.dataset.state = "uploading";
    r.photoStatus.textContent = gettext("Uploading the photo…");
    const form = new FormData();
    form.append("photo", this.photoFile, this.photoFile.name || "delivery.jpg");
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `/api/rider/orders/${this.id}/pod-photo/`);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) {
          r.photoProgress.value = Math.round((100 * e.loaded) / e.total);
          r.photoStatus.textContent = fmt(gettext("Uploading the photo… %(pct)s%"), { pct: r.photoProgress.value });
        }
      };
      const done = (ok, body) => {
        this.photoBusy = false;
        r.photoProgress.hidden = true;
        r.photoStatus.dataset.state = ok ? "saved" : "failed";
        if (ok) {
          this.photoFile = null;
          if (this.pod) this.pod.photo_taken = true;
          r.photoStatus.textContent = gettext("Photo saved.");
        } else {
          r.photoStatus.textContent = fmt(gettext("The photo did not upload: %(reason)s"), {
            reason: messageFor(body || { code: "offline" }, gettext("No connection. Check your signal and try again.")) });
          r.photoRetry.hidden = !["offline", "error", "not_saved"].includes((body && body.code) || "offline");
        }
        resolve(ok);
      };
      xhr.onload = () => {
        let body;
        try { body = JSON.parse(xhr.responseText); } catch { body = null; }
        done(xhr.status >= 200 && xhr.status < 300, xhr.status >= 500 ? { code: "error" } : body);
      };
      xhr.onerror = () => done(false, { code: "offline" });
      xhr.send(form);
    });
  },

  // The deliver body as the policy asks, or null (and the field marked) when something is missing on this side.
  podBody(pin) {
    const r = this.r;
    const pod = this.pod || { pin: true };
    const body = {};
    r.idErr.textContent = "";
    if (pod.photo && !pod.photo_taken) {
      r.photoStatus.textContent = gettext("Take a photo of the delivery first.");
      r.photoStatus.dataset.state = "failed";
      r.photoBlock.scrollIntoView({ block: "center" });
      return null;
    }
    if (pod.id_check) {
      if (!r.idChecked.checked || !r.idDocument.value) {
        r.idErr.textContent = gettext("Check the customer's ID and say which document you saw.");
        (r.idChecked.checked ? r.idDocument : r.idChecked).focus();
        return null;
      }
      body.id_checked = true;
      body.id_document = r.idDocument.value;
    }
    if (pod.pin) body.pin = pin;
    return body;
  },
};
