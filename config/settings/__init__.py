"""Settings, grouped by concern (as cookiecutter-django's config/settings/): base.py holds the project's, live.py
the live path's. `config.settings` is the module every process names (DJANGO_SETTINGS_MODULE); the in-process
test suite names config.test_settings, which must clear the scale profile's variables before this package reads
the environment, so it stays outside it."""

from .base import *  # noqa: F403
from .live import *  # noqa: F403
