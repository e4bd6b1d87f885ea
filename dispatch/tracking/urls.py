from django.urls import path

from . import apis, views

page_urlpatterns = [
    path("t/sw.js", views.service_worker, name="track-sw"),
    path("t/<str:token>/", views.track_page, name="track-page"),
]

api_urlpatterns = [
    path("track/<str:token>/", apis.TrackingApi.as_view()),
    path("track/<str:token>/call/", apis.TrackingCallApi.as_view()),
    path("track/<str:token>/consent/", apis.TrackingConsentApi.as_view()),
    path("track/<str:token>/messages/", apis.TrackingMessagesApi.as_view()),
    path("track/<str:token>/push/", apis.TrackingPushApi.as_view()),
    path("track/<str:token>/feedback/", apis.TrackingFeedbackApi.as_view()),
    path("track/<str:token>/pod/photo/", apis.TrackingPodPhotoApi.as_view()),
]
