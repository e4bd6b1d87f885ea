from django.urls import path

from .consumers import DispatchConsumer

websocket_urlpatterns = [
    path("ws/dispatch/", DispatchConsumer.as_asgi()),
]
