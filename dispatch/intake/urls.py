from django.urls import path

from . import apis, pod_apis, telephony

api_urlpatterns = [
    path("stores/", apis.StoreListApi.as_view()),
    path("orders/", apis.OrderCreateApi.as_view()),
    path("orders/<int:order_id>/", apis.OrderDetailApi.as_view()),
    path("orders/<int:order_id>/cancel/", apis.OrderCancelApi.as_view()),
    path("orders/<int:order_id>/pod/", pod_apis.OrderPodApi.as_view()),
    path("orders/<int:order_id>/pod/photo/", pod_apis.OrderPodPhotoApi.as_view()),
    path("orders/<int:order_id>/feedback/", pod_apis.OrderFeedbackApi.as_view()),
]

telephony_urlpatterns = [
    path("twilio/voice/", telephony.twilio_voice, name="twilio-voice"),
    path("sandbox/call/", telephony.SandboxCallApi.as_view(), name="sandbox-call"),
]
