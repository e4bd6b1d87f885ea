from django.urls import path

from . import views

page_urlpatterns = [
    path("", views.home, name="home"),
    path("dev/outbox/", views.dev_outbox, name="dev-outbox"),
    path("healthz", views.HealthzApi.as_view(), name="healthz"),
    path("readyz", views.ReadyzApi.as_view(), name="readyz"),
]
