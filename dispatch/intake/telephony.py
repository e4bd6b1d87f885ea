from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from ..services.calls import call_route

log = logging.getLogger(__name__)


@csrf_exempt  # Twilio cannot send a CSRF token; the request signature authenticates it instead.
@require_POST
def twilio_voice(request):
    """Twilio's voice webhook: route the call by (From, To) and answer with TwiML."""
    if not settings.TWILIO_AUTH_TOKEN:
        return HttpResponseForbidden("Twilio is not configured.")
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    url = settings.TWILIO_WEBHOOK_URL or request.build_absolute_uri()
    if not validator.validate(url, request.POST.dict(), request.headers.get("X-Twilio-Signature", "")):
        log.warning("twilio_voice: bad signature call=%s", request.POST.get("CallSid", "")[:40])
        return HttpResponseForbidden("Bad signature.")
    route = call_route(caller=request.POST.get("From", ""), proxy_number=request.POST.get("To", ""))
    response = VoiceResponse()
    if route.connect_to:
        dial = response.dial(caller_id=route.caller_id, timeout=25)
        dial.number(route.connect_to)
    else:
        response.say(route.message)
        response.hangup()
    return HttpResponse(str(response), content_type="application/xml")


class SandboxCallIn(serializers.Serializer):
    from_number = serializers.CharField(max_length=32)
    to = serializers.CharField(max_length=32)


class SandboxCallApi(APIView):
    """The sandbox carrier: places a call locally. It reports who was reached, never their number."""

    permission_classes = [AllowAny]
    error_statuses = (404,)  # with another provider

    @extend_schema(request=SandboxCallIn, responses=inline_serializer("SandboxCallOut", fields={
        "connected": serializers.BooleanField(), "callee": serializers.CharField(),
        "caller_id": serializers.CharField(), "message": serializers.CharField()}))
    def post(self, request):
        if settings.TELEPHONY_PROVIDER != "sandbox":
            return Response({"code": "not_found", "detail": "Not found."}, status=404)
        data = SandboxCallIn(data=request.data)
        data.is_valid(raise_exception=True)
        route = call_route(caller=data.validated_data["from_number"], proxy_number=data.validated_data["to"])
        return Response({"connected": route.connect_to is not None, "callee": route.callee,
                         "caller_id": route.caller_id, "message": route.message})
