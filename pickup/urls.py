from django.urls import path

from . import apis, views

page_urlpatterns = [
    path("pickup/", views.console, name="pickup-console"),
    path("pickup/orders/<int:order_id>/label/", views.label, name="pickup-label"),
]

api_urlpatterns = [
    path("orders/", apis.StoreQueueApi.as_view()),
    path("orders/<int:order_id>/ready/", apis.StoreOrderReadyApi.as_view()),
    path("orders/<int:order_id>/packing/", apis.StorePackingApi.as_view()),
    path("orders/<int:order_id>/undo-handoff/", apis.StoreHandoffUndoApi.as_view()),
    path("orders/<int:order_id>/cancel/", apis.StoreOrderCancelApi.as_view()),
    path("orders/<int:order_id>/return/", apis.StoreReturnApi.as_view()),
    path("lookup/", apis.StoreLookupApi.as_view()),
    path("handoff/check/", apis.StoreHandoffCheckApi.as_view()),
    path("handoff/", apis.StoreHandoffApi.as_view()),
    path("handoffs/", apis.StoreHandoffHistoryApi.as_view()),
]
