from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from config import tiles
from dispatch import urls as dispatch_urls
from dispatch.board import urls as board_urls
from dispatch.forms import AdminLoginForm
from dispatch.intake import urls as intake_urls
from dispatch.lockout import AuthTokenApi
from dispatch.metrics import metrics_view
from dispatch.portal import urls as portal_urls
from dispatch.reports import urls as report_urls
from dispatch.tracking import urls as tracking_urls
from dispatch.views import PrivacyLogoutView, RoleLoginView
from pickup import urls as pickup_urls
from rider import urls as rider_urls

admin.site.login_form = AdminLoginForm  # lengths capped before authenticate() (dispatch/forms.py)

urlpatterns = [
    path("accounts/login/", RoleLoginView.as_view(), name="login"),
    path("i18n/", include("django.conf.urls.i18n")),  # POST /i18n/setlang/ (the header's language switcher)
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/logout/", PrivacyLogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("tiles/<int:z>/<int:x>/<int:y>.png", tiles.tile, name="map-tile"),
    path("api/auth/token/", AuthTokenApi.as_view(), name="api-token"),
    path("metrics", metrics_view, name="metrics"),  # the scraper's only: 404 to anyone else (dispatch/metrics.py)
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Redoc styles itself at run time: its page alone may use inline styles and blob workers.
    path("api/docs/", csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]})(
        SpectacularRedocView.as_view(url_name="schema")), name="api-docs"),
    path("api/", include(intake_urls.api_urlpatterns)),
    path("api/", include(board_urls.api_urlpatterns)),
    path("api/", include(tracking_urls.api_urlpatterns)),
    path("api/", include(portal_urls.api_urlpatterns)),
    path("api/rider/", include(rider_urls.api_urlpatterns)),
    path("api/pickup/", include(pickup_urls.api_urlpatterns)),
    path("telephony/", include(intake_urls.telephony_urlpatterns)),
    *dispatch_urls.page_urlpatterns,
    *board_urls.page_urlpatterns,
    *report_urls.page_urlpatterns,
    *tracking_urls.page_urlpatterns,
    *intake_urls.page_urlpatterns,
    *portal_urls.page_urlpatterns,
    *rider_urls.page_urlpatterns,
    *pickup_urls.page_urlpatterns,
]

handler404 = "dispatch.views.not_found"
