from django.urls import path

from . import apis, telephony

api_urlpatterns = [
    path("stores/", apis.StoreListApi.as_view()),
    path("orders/", apis.OrderCreateApi.as_view()),
    path("orders/<int:order_id>/", apis.OrderDetailApi.as_view()),
    path("orders/<int:order_id>/cancel/", apis.OrderCancelApi.as_view()),
]

telephony_urlpatterns = [
    path("twilio/voice/", telephony.twilio_voice, name="twilio-voice"),
    path("twilio/sms-status/", telephony.twilio_sms_status, name="twilio-sms-status"),
    path("twilio/sms-inbound/", telephony.twilio_sms_inbound, name="twilio-sms-inbound"),
    path("sandbox/call/", telephony.SandboxCallApi.as_view(), name="sandbox-call"),
]
