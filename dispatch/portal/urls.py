from django.urls import path

from . import apis, views

page_urlpatterns = [
    path("portal/", views.orders, name="portal"),
    path("portal/orders/new/", views.order_new, name="portal-order-new"),
    path("portal/orders/<int:order_id>/", views.order_page, name="portal-order"),
    path("portal/orders/<int:order_id>/label/", views.order_label, name="portal-label"),
]

api_urlpatterns = [
    path("portal/orders/<int:order_id>/", apis.PortalOrderApi.as_view()),
]
