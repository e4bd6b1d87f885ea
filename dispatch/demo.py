"""The demo's accounts as a person uses them: the screens, their logins and the one password.

`demo_data` creates them, `run_banner` (and `make urls`) prints them, and the home page lists them in demo mode.
"""

from django.utils.translation import gettext_lazy as _

DEMO_PASSWORD = "deliver-privately"  # noqa: S105 - the documented demo password, refused outside demo mode

# (screen, path, logins, note); the screens' names are the home page's (translated there).
DEMO_SCREENS = [
    (_("Rider app"), "/rider/", ("rider1", "rider2", "rider3", "rider4"), _("(phone; rider4: merchant1's own fleet)")),
    (_("Store counter"), "/pickup/", ("store1", "store1b", "store2"), ""),
    (_("Dispatch map"), "/dispatch/", ("dispatcher1", "dispatcher2"), _("(dispatcher2: merchant1's fleet only)")),
    (_("Merchant portal"), "/portal/", ("merchant1", "merchant2"), ""),
    (_("API reference"), "/api/docs/", ("merchant1",), "(token: POST /api/auth/token/)"),
]
