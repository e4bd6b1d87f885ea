from django.urls import path

from . import apis, pages, pod_apis, telephony, webhooks

api_urlpatterns = [
    path("stores/", apis.StoreListApi.as_view()),
    path("orders/", apis.OrderCreateApi.as_view()),
    path("orders/<int:order_id>/", apis.OrderDetailApi.as_view()),
    path("orders/<int:order_id>/cancel/", apis.OrderCancelApi.as_view()),
    path("orders/<int:order_id>/pod/", pod_apis.OrderPodApi.as_view()),
    path("orders/<int:order_id>/pod/photo/", pod_apis.OrderPodPhotoApi.as_view()),
    path("orders/<int:order_id>/feedback/", pod_apis.OrderFeedbackApi.as_view()),
    path("quotes/", apis.QuoteCreateApi.as_view()),
    path("webhooks/", webhooks.WebhookListApi.as_view()),
    path("webhooks/<int:endpoint_id>/", webhooks.WebhookDetailApi.as_view()),
    path("webhooks/<int:endpoint_id>/rotate/", webhooks.WebhookRotateApi.as_view()),
    path("webhooks/<int:endpoint_id>/deliveries/", webhooks.WebhookDeliveriesApi.as_view()),
    path("webhooks/deliveries/<int:delivery_id>/redeliver/", webhooks.WebhookRedeliverApi.as_view()),
]

page_urlpatterns = [
    path("portal/webhooks/", pages.webhooks_page, name="portal-webhooks"),
]

telephony_urlpatterns = [
    path("twilio/voice/", telephony.twilio_voice, name="twilio-voice"),
    path("twilio/sms-status/", telephony.twilio_sms_status, name="twilio-sms-status"),
    path("twilio/sms-inbound/", telephony.twilio_sms_inbound, name="twilio-sms-inbound"),
    path("sandbox/call/", telephony.SandboxCallApi.as_view(), name="sandbox-call"),
]
