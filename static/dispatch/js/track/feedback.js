// After delivery: the photo the rider took (shown on request: each view is audited) and the customer's feedback,
// a rating of 1 to 5 and an issue with optional text, sent once (POST /api/track/<token>/feedback/). The text
// goes to the shop only, masked; the rider never sees it.
import { api, errorText } from "../../../common/api.js";
import { $, isBusy, toast } from "../../../common/dom.js";
import { fmt, gettext } from "../../../common/ui.js";

const TEXT_MAX = 500;
let wired = false;

function showDone(feedback) {
  $("feedback-form").hidden = true;
  const done = $("feedback-done");
  done.hidden = false;
  done.textContent = feedback.rating
    ? fmt(gettext("Thank you. You rated this delivery %(n)s out of 5."), { n: feedback.rating })
    : gettext("Thank you. The shop has your report.");
}

function countLeft() {
  const left = TEXT_MAX - $("feedback-text").value.length;
  $("feedback-count").textContent = fmt(gettext("%(n)s characters left"), { n: left });
}

function wire(base, onSent) {
  wired = true;
  $("feedback-text").addEventListener("input", countLeft);
  countLeft();
  $("feedback-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("feedback-send");
    if (isBusy(button)) return;
    const error = $("feedback-error");
    const checked = document.querySelector("input[name=rating]:checked");
    const body = { issue: $("feedback-issue").value, text: $("feedback-text").value.trim() };
    if (checked) body.rating = Number(checked.value);
    error.textContent = "";
    if (!checked && !body.issue && !body.text) {
      error.textContent = gettext("Choose a rating or an issue first.");
      return;
    }
    button.setAttribute("aria-busy", "true");
    try {
      const sent = await api(`${base}feedback/`, { method: "POST", body });
      showDone(sent);
      toast(gettext("Thank you for your feedback."), "ok");
      onSent();
    } catch (err) {
      error.textContent = errorText(err);
      if (err.code === "feedback_exists") onSent();
    } finally {
      button.removeAttribute("aria-busy");
    }
  });
  $("pod-show").addEventListener("click", () => {
    const img = $("pod-photo");
    img.src = `${base}pod/photo/`;
    img.hidden = false;
    $("pod-show").hidden = true;
  });
}

export function renderAfterDelivery(d, base, onSent) {
  if (!wired) wire(base, onSent);
  $("pod-card").hidden = !d.pod_photo;
  $("feedback-card").hidden = !(d.feedback_open || d.feedback);
  if (d.feedback) showDone(d.feedback);
}
