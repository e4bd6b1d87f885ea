from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from .. import selectors
from ..errors import NotFound
from ..permissions import rider_of
from ..serializers import CallRouteOut
from ..services.calls import call_route_for_customer, call_route_for_rider, call_webhook_route, sandbox_carrier_enabled
from ..services.notify import message_inbound, message_status_record

log = logging.getLogger(__name__)


@csrf_exempt  # Twilio cannot send a CSRF token; the request signature authenticates it instead.
@require_POST
def twilio_voice(request):
    """Twilio's voice webhook: route the call by (From, To) and answer with TwiML.

    A signature carries no timestamp, so a captured request stays valid: each CallSid is answered once.
    A replay gets an empty `<Response/>` (Twilio ends the call): repeating the first answer would mean
    storing the customer's number or routing, dialling and auditing again."""
    if not settings.TWILIO_AUTH_TOKEN:
        return HttpResponseForbidden("Twilio is not configured.")
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    url = settings.TWILIO_WEBHOOK_URL or request.build_absolute_uri()
    call_sid = request.POST.get("CallSid", "")
    if not validator.validate(url, request.POST.dict(), request.headers.get("X-Twilio-Signature", "")):
        log.warning("twilio_voice: bad signature call=%s", call_sid[:40])
        return HttpResponseForbidden("Bad signature.")
    if not call_sid or len(call_sid) > 64:
        return HttpResponseBadRequest("A CallSid is required.")
    route = call_webhook_route(call_sid=call_sid, caller=request.POST.get("From", ""),
                               proxy_number=request.POST.get("To", ""))
    response = VoiceResponse()
    if route is None:
        log.warning("twilio_voice: replayed call=%s answered with an empty response", call_sid[:40])
    elif route.connect_to:
        dial = response.dial(caller_id=route.caller_id, timeout=25)
        dial.number(route.connect_to)
    else:
        response.say(route.message)
        response.hangup()
    return HttpResponse(str(response), content_type="application/xml")


def _twilio_signed(request, url_setting: str) -> bool:
    """The request carries Twilio's signature over the URL Twilio was given and the form fields."""
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    url = getattr(settings, url_setting) or request.build_absolute_uri()
    return validator.validate(url, request.POST.dict(), request.headers.get("X-Twilio-Signature", ""))


@csrf_exempt  # Twilio cannot send a CSRF token; the request signature authenticates it instead.
@require_POST
def twilio_sms_status(request):
    """Twilio's status callback for a customer message (MessageSid, MessageStatus, ErrorCode): its delivery
    state. A replay only sets the same state again; a late "sent" never undoes "delivered" or "failed"."""
    if not settings.TWILIO_AUTH_TOKEN:
        return HttpResponseForbidden("Twilio is not configured.")
    sid = request.POST.get("MessageSid", "")
    if not _twilio_signed(request, "TWILIO_SMS_STATUS_URL"):
        log.warning("twilio_sms_status: bad signature message=%s", sid[:40])
        return HttpResponseForbidden("Bad signature.")
    if not sid or len(sid) > 64:
        return HttpResponseBadRequest("A MessageSid is required.")
    message_status_record(ref=sid, status=request.POST.get("MessageStatus", "")[:20],
                          error_code=request.POST.get("ErrorCode", "")[:10])
    return HttpResponse(status=204)


@csrf_exempt  # Twilio cannot send a CSRF token; the request signature authenticates it instead.
@require_POST
def twilio_sms_inbound(request):
    """Twilio's incoming-message webhook: STOP from a customer's number stops every message to it; START
    lifts that. The answer is empty TwiML (Twilio's own opt-out reply, where enabled, tells the customer)."""
    if not settings.TWILIO_AUTH_TOKEN:
        return HttpResponseForbidden("Twilio is not configured.")
    if not _twilio_signed(request, "TWILIO_SMS_INBOUND_URL"):
        log.warning("twilio_sms_inbound: bad signature message=%s", request.POST.get("MessageSid", "")[:40])
        return HttpResponseForbidden("Bad signature.")
    sender, text = request.POST.get("From", ""), request.POST.get("Body", "")
    if not sender or len(sender) > 32 or len(text) > 1600:
        return HttpResponseBadRequest("From and a Body are required.")
    outcome = message_inbound(phone=sender, text=text)
    log.info("twilio_sms_inbound: %s", outcome or "ignored")
    return HttpResponse(str(MessagingResponse()), content_type="application/xml")


class SandboxCallIn(serializers.Serializer):
    to = serializers.CharField(max_length=32)
    token = serializers.CharField(max_length=64, required=False,
                                  help_text="The tracking link's token: call as that order's customer.")


class SandboxCallApi(APIView):
    """The sandbox carrier, demo mode only: the in-app softphone of a logged-in rider (calling from their own
    phone) or of the tracking link's holder (calling from the order's customer phone). The answer has the same
    shape for every number and says only what the caller's own sessions already tell them."""

    permission_classes = [AllowAny]
    error_statuses = (404,)  # with another provider

    @extend_schema(request=SandboxCallIn, responses=CallRouteOut)
    def post(self, request):
        if not sandbox_carrier_enabled():
            raise NotFound()
        data = SandboxCallIn(data=request.data)
        data.is_valid(raise_exception=True)
        to, token = data.validated_data["to"], data.validated_data.get("token")
        if token:
            order = selectors.order_by_tracking_token(token=token)
            route = call_route_for_customer(order=order, proxy_number=to)
        elif (rider := rider_of(request.user)) is not None:
            route = call_route_for_rider(rider=rider, proxy_number=to)
        else:
            raise NotAuthenticated("Log in as a rider, or call from your tracking link.")
        return Response(CallRouteOut(route).data)
