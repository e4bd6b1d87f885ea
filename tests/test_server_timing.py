"""The Server-Timing header: on (demo mode's default), every response says how long Django took;
off (production's default), the middleware is not even loaded."""

from __future__ import annotations

import re

import pytest
from django.test import Client


@pytest.mark.django_db
def test_server_timing_reports_the_time_django_took(settings):
    settings.SERVER_TIMING = True
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    m = re.fullmatch(r"app;dur=(\d+\.\d\d)", response["Server-Timing"])
    assert m and 0 < float(m.group(1)) < 60_000


@pytest.mark.django_db
def test_no_server_timing_unless_asked(settings):
    settings.SERVER_TIMING = False
    assert "Server-Timing" not in Client().get("/accounts/login/")
