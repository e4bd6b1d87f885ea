from django.urls import path

from . import apis, offers, views

page_urlpatterns = [
    path("dispatch/", views.board, name="dispatch-board"),
]

api_urlpatterns = [
    path("dispatch/orders/", apis.BoardOrdersApi.as_view()),
    path("dispatch/riders/", apis.BoardRidersApi.as_view()),
    path("dispatch/overload/", apis.OverloadApi.as_view()),
    path("dispatch/alerts/", apis.AlertListApi.as_view()),
    path("dispatch/lines/", apis.LineListApi.as_view()),
    path("dispatch/alerts/<int:alert_id>/ack/", apis.AlertAckApi.as_view()),
    path("dispatch/orders/<int:order_id>/assign/", apis.OrderAssignApi.as_view()),
    path("dispatch/orders/<int:order_id>/offer/", offers.OrderOfferApi.as_view()),
    path("dispatch/orders/<int:order_id>/suggestions/", apis.OrderSuggestionsApi.as_view()),
    path("dispatch/orders/<int:order_id>/break-glass/", apis.OrderBreakGlassApi.as_view()),
    path("dispatch/orders/<int:order_id>/cancel/", apis.DispatchOrderCancelApi.as_view()),
    path("dispatch/orders/<int:order_id>/retry/", apis.OrderRetryApi.as_view()),
    path("dispatch/orders/<int:order_id>/pin-unlock/", apis.OrderPinUnlockApi.as_view()),
    path("dispatch/orders/<int:order_id>/interactions/", apis.OrderInteractionsApi.as_view()),
]
