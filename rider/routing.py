from django.urls import path

from .consumers import RiderConsumer

websocket_urlpatterns = [path("ws/rider/", RiderConsumer.as_asgi())]
