from django.urls import path

from . import apis, views

page_urlpatterns = [
    path("", views.home, name="home"),
    path("dispatch/", views.board, name="dispatch-board"),
    path("t/<str:token>/", views.track_page, name="track-page"),
]

api_urlpatterns = [
    path("stores/", apis.StoreListApi.as_view()),
    path("orders/", apis.OrderCreateApi.as_view()),
    path("orders/<int:order_id>/", apis.OrderDetailApi.as_view()),
    path("dispatch/orders/", apis.BoardOrdersApi.as_view()),
    path("dispatch/riders/", apis.BoardRidersApi.as_view()),
    path("dispatch/orders/<int:order_id>/assign/", apis.OrderAssignApi.as_view()),
    path("dispatch/orders/<int:order_id>/break-glass/", apis.OrderBreakGlassApi.as_view()),
    path("track/<str:token>/", apis.TrackingApi.as_view()),
    path("track/<str:token>/call/", apis.TrackingCallApi.as_view()),
]
