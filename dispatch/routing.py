from django.urls import path

from .consumers import DispatchConsumer, TrackConsumer

websocket_urlpatterns = [
    path("ws/dispatch/", DispatchConsumer.as_asgi()),
    path("ws/track/<str:token>/", TrackConsumer.as_asgi()),
]
