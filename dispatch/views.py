"""Site pages shared by every party: the home page and a logout that clears the browser's data."""

from django.contrib.auth.views import LoginView, LogoutView
from django.shortcuts import render

from .permissions import role_of

ROLE_HOME = {"rider": "/rider/", "staff": "/pickup/", "dispatcher": "/dispatch/", "merchant": "/api/docs/"}


def home(request):
    role = role_of(request.user) if request.user.is_authenticated else None
    return render(request, "home.html", {"role": role, "role_home": ROLE_HOME.get(role or "", "")})


class RoleLoginView(LoginView):
    """After login each party lands in its own app; a safe `next` still wins."""

    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return ROLE_HOME.get(role_of(self.request.user) or "", "") or super().get_default_redirect_url()


class PrivacyLogoutView(LogoutView):
    """Logging out also tells the browser to drop this site's caches and storage (the rider's
    IndexedDB queue and any cached shell), on top of what the page clears itself."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response
