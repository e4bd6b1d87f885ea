from django.urls import path

from . import views

page_urlpatterns = [
    path("", views.home, name="home"),
]
