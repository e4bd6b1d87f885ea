"""Every periodic task beat sends names a task the worker has registered: a sweep whose decorator went missing
would be sent by beat every interval and dropped by the worker as unknown, with no test noticing."""

from __future__ import annotations

from django.conf import settings

from config.celery import app


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    registered = set(app.tasks)
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert names, "no beat schedule"
    assert sorted(names - registered) == []
    assert {"dispatch.tasks.intake_sweep", "dispatch.tasks.webhook_sweep", "dispatch.tasks.messages_sweep"} <= names
