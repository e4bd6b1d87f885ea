from django.urls import path

from . import apis, offers, pod_apis, safety_apis, views

page_urlpatterns = [
    path("rider/", views.rider_app, name="rider-app"),
    path("rider/sw.js", views.service_worker, name="rider-sw"),
    path("rider/manifest.webmanifest", views.manifest, name="rider-manifest"),
]

api_urlpatterns = [
    path("orders/", apis.RiderOrderListApi.as_view()),
    path("orders/<int:order_id>/", apis.RiderOrderDetailApi.as_view()),
    path("orders/<int:order_id>/handoff-code/", apis.RiderHandoffCodeApi.as_view()),
    path("orders/<int:order_id>/call/", apis.RiderCallApi.as_view()),
    path("orders/<int:order_id>/call/dial/", apis.RiderDialApi.as_view()),
    path("orders/<int:order_id>/deliver/", apis.RiderDeliverApi.as_view()),
    path("orders/<int:order_id>/pod-photo/", pod_apis.RiderPodPhotoApi.as_view()),
    path("orders/<int:order_id>/door-wait/", apis.RiderDoorWaitApi.as_view()),
    path("orders/<int:order_id>/fail/", apis.RiderFailApi.as_view()),
    path("orders/<int:order_id>/report/", safety_apis.RiderReportApi.as_view()),
    path("returns/", apis.RiderReturnListApi.as_view()),
    path("returns/<int:order_id>/handoff-code/", apis.RiderReturnCodeApi.as_view()),
    path("location/", apis.RiderLocationApi.as_view()),
    path("location/state/", apis.RiderGeoStateApi.as_view()),
    path("duty/", apis.RiderDutyApi.as_view()),
    path("sos/", safety_apis.RiderSosApi.as_view()),
    path("pickup-check/", apis.RiderPickupCheckApi.as_view()),
    path("offers/", offers.RiderOfferListApi.as_view()),
    path("offers/<int:offer_id>/accept/", offers.RiderOfferAcceptApi.as_view()),
    path("offers/<int:offer_id>/decline/", offers.RiderOfferDeclineApi.as_view()),
]
