// How a delivered order was proved (policy, PIN, kind of ID seen, photo) and the customer's feedback, read once
// from the merchant's order detail (GET /api/orders/<id>/: reading the feedback's text is audited, so it is not
// polled). The photo loads only when asked ("Show the photo"): each view of it is audited too.
import { api, errorText } from "../../common/api.js";
import { $ } from "../../common/dom.js";
import { fmt, gettext } from "../../common/ui.js";

const POLICIES = {
  pin: gettext("PIN from the customer"),
  photo: gettext("Photo at handover"),
  pin_photo: gettext("PIN and photo"),
  id_check: gettext("PIN and ID check"),
  leave_at_door: gettext("Left at the door, with a photo"),
};
const DOCUMENTS = {
  id_card: gettext("ID card"),
  passport: gettext("Passport"),
  driver_licence: gettext("Driving licence"),
  residence_permit: gettext("Residence permit"),
  other: gettext("Other official ID"),
};
const ISSUES = {
  missing_item: gettext("An item is missing"),
  damaged: gettext("Something arrived damaged"),
  late: gettext("It came late"),
  rider_conduct: gettext("How the rider behaved"),
  other: gettext("Something else"),
};

let loaded = false;

function renderPod(pod, orderId) {
  $("pod-card").hidden = false;
  if (!pod) {
    $("pod-policy").textContent = gettext("Not recorded");
    $("pod-pin").textContent = "—";
    $("pod-id").textContent = "—";
    $("pod-photo-state").textContent = "—";
    return;
  }
  $("pod-policy").textContent = POLICIES[pod.policy] || pod.policy;
  $("pod-pin").textContent = pod.pin_checked ? gettext("Checked") : gettext("Not asked");
  $("pod-id").textContent = pod.id_document ? (DOCUMENTS[pod.id_document] || pod.id_document) : gettext("Not asked");
  $("pod-photo-state").textContent = pod.photo ? gettext("Taken") : gettext("None");
  $("pod-photo-box").hidden = !pod.photo;
  if (pod.photo) {
    $("pod-show").addEventListener("click", () => {
      const img = $("pod-photo");
      img.addEventListener("load", () => { img.dataset.loaded = "true"; }, { once: true });
      img.addEventListener("error", () => {
        img.hidden = true;
        $("pod-photo-state").textContent = gettext("No longer available");
      }, { once: true });
      img.src = `/api/orders/${orderId}/pod/photo/`;
      img.hidden = false;
      $("pod-show").hidden = true;
    }, { once: true });
  }
}

function renderFeedback(feedback) {
  $("feedback-card").hidden = false;
  $("feedback-none").hidden = Boolean(feedback);
  $("feedback-facts").hidden = !feedback;
  if (!feedback) return;
  $("fb-rating").textContent = feedback.rating ? fmt(gettext("%(n)s out of 5"), { n: feedback.rating }) : "—";
  $("fb-issue").textContent = feedback.issue ? (ISSUES[feedback.issue] || feedback.issue) : gettext("None");
  $("fb-text").textContent = feedback.text || "—";
}

// Once the order is delivered: one read of the detail, then the two cards.
export async function showAfterDelivery(orderId) {
  if (loaded) return;
  loaded = true;
  try {
    const detail = await api(`/api/orders/${orderId}/`);
    renderPod(detail.pod, orderId);
    renderFeedback(detail.feedback);
  } catch (err) {
    loaded = false;
    $("pod-card").hidden = false;
    $("pod-policy").textContent = errorText(err);
  }
}
