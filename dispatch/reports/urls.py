from django.urls import path

from . import views

page_urlpatterns = [
    path("dispatch/reports/", views.admin_report, name="report-admin"),
    path("dispatch/reports/<str:part>.csv", views.admin_report_csv, name="report-admin-csv"),
    path("portal/reports/", views.merchant_report, name="report-merchant"),
    path("portal/reports/<str:part>.csv", views.merchant_report_csv, name="report-merchant-csv"),
    path("privacy/", views.privacy_notice, name="privacy-notice"),
]
