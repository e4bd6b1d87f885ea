from django.urls import path

from .consumers import TrackConsumer

websocket_urlpatterns = [
    path("ws/track/<str:token>/", TrackConsumer.as_asgi()),
]
