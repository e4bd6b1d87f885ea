"""Finding 4: the audit chain must notice a cut tail, a rewritten head, an edited middle and a forged anchor.

The party throughout is an insider with write access to the database (a DBA, or a leaked database
credential) who wants to erase the trace of what they read. They can edit and delete rows and recompute
the unkeyed hash chain; they cannot write the anchor file nor know AUDIT_ANCHOR_KEY."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from dispatch.models import AuditEvent, AuditHead
from dispatch.services.audit import _digest


def verify() -> str:
    """Run the operator's command; return its output or raise CommandError (a non-zero exit)."""
    from io import StringIO

    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def checkpointed(count_at_least: int = 6) -> list[AuditEvent]:
    events = list(AuditEvent.objects.order_by("id"))
    assert len(events) >= count_at_least
    assert "intact" in verify()  # the operator's check anchors the head
    return events


def rehash_from(first: AuditEvent) -> None:
    """What a careful attacker does after an edit: recompute every hash from `first` on, and the head."""
    prev = first.prev_hash
    for event in AuditEvent.objects.filter(id__gte=first.pk).order_by("id"):
        event.prev_hash = prev
        event.hash = _digest(prev, at=event.at.isoformat(), actor=event.actor_label, action=event.action,
                             order_id=event.order_id, data=event.data)
        event.save(update_fields=["prev_hash", "hash"])
        prev = event.hash
    AuditHead.objects.filter(pk=1).update(last_hash=prev)


@pytest.fixture
def history(assigned_order, rider1, dispatcher):
    """A few more events on the chain: reveals, a break-glass reveal."""
    rider1.get(f"/api/rider/orders/{assigned_order['id']}/")
    dispatcher.post(f"/api/dispatch/orders/{assigned_order['id']}/break-glass/",
                    {"reason": "customer unreachable, rider at door"}, format="json")
    return assigned_order


@pytest.mark.django_db
def test_deleted_tail_is_detected(history):
    """DBA deletes the last 5 events (the break-glass read among them) and leaves the rest alone. Finding 4."""
    events = checkpointed()
    AuditEvent.objects.filter(pk__in=[e.pk for e in events[-5:]]).delete()
    with pytest.raises(CommandError) as exc:
        verify()
    assert "missing" in str(exc.value) or "head" in str(exc.value).lower()


@pytest.mark.django_db
def test_deleted_tail_with_head_rewritten_is_detected(history):
    """DBA deletes the last 5 events and points AuditHead at the new last event, so the chain looks whole. Finding 4."""
    events = checkpointed()
    AuditEvent.objects.filter(pk__in=[e.pk for e in events[-5:]]).delete()
    AuditHead.objects.filter(pk=1).update(last_hash=events[-6].hash)
    with pytest.raises(CommandError) as exc:
        verify()
    message = str(exc.value)
    assert f"#{events[-1].pk}" in message and "missing" in message, message


@pytest.mark.django_db
def test_rewritten_head_is_detected(history):
    """DBA edits the last event (hides the break-glass reason), recomputes its hash and AuditHead. Finding 4."""
    events = checkpointed()
    last = events[-1]
    AuditEvent.objects.filter(pk=last.pk).update(action="grant.created", data={})
    rehash_from(AuditEvent.objects.get(pk=last.pk))
    with pytest.raises(CommandError) as exc:
        verify()
    message = str(exc.value)
    assert f"#{last.pk}" in message and "checkpoint" in message, message


@pytest.mark.django_db
def test_edited_middle_event_is_detected_even_when_rehashed(history):
    """DBA edits an event in the middle; first leaving the hashes, then recomputing the rest of the chain. Finding 4."""
    events = checkpointed()
    victim = events[len(events) // 2]
    AuditEvent.objects.filter(pk=victim.pk).update(data={"tier": "AREA"})
    with pytest.raises(CommandError) as exc:
        verify()
    assert f"broken at event {victim.pk}" in str(exc.value)
    rehash_from(AuditEvent.objects.get(pk=victim.pk))
    with pytest.raises(CommandError) as exc:
        verify()
    assert "checkpoint" in str(exc.value)


@pytest.mark.django_db
def test_forged_anchor_is_refused(history, settings):
    """DBA deletes the tail, then writes an anchor that matches it, without the anchor key. Finding 4."""
    events = checkpointed()
    AuditEvent.objects.filter(pk__in=[e.pk for e in events[-5:]]).delete()
    AuditHead.objects.filter(pk=1).update(last_hash=events[-6].hash)
    anchor = json.loads(settings.AUDIT_ANCHOR_PATH.read_text())
    anchor.update(last_id=events[-6].pk, hash=events[-6].hash, count=len(events) - 5)
    settings.AUDIT_ANCHOR_PATH.write_text(json.dumps(anchor))
    with pytest.raises(CommandError) as exc:
        verify()
    assert "signature" in str(exc.value)


@pytest.mark.django_db
def test_beat_checkpoint_anchors_the_head_and_refuses_a_broken_chain(history, settings):
    """The periodic task anchors an intact head, and never anchors a chain that was cut. Finding 4."""
    from dispatch.tasks import audit_checkpoint

    events = list(AuditEvent.objects.order_by("id"))
    result = audit_checkpoint.apply().get()  # through Celery's call path; the result must be JSON
    assert json.loads(json.dumps(result)) == result
    assert result["ok"] and result["last_id"] == events[-1].pk
    anchored = settings.AUDIT_ANCHOR_PATH.read_text()
    AuditEvent.objects.filter(pk__in=[e.pk for e in events[-3:]]).delete()
    AuditHead.objects.filter(pk=1).update(last_hash=events[-4].hash)
    result = audit_checkpoint()
    assert not result["ok"] and "missing" in result["problem"]
    assert settings.AUDIT_ANCHOR_PATH.read_text() == anchored  # the evidence stays


@pytest.mark.django_db
def test_intact_chain_keeps_verifying_as_it_grows(history, dispatcher, settings):
    """The operator's routine: verify, more events, verify again: both intact, and the anchor moves forward."""
    first = checkpointed()
    dispatcher.post(f"/api/dispatch/orders/{history['id']}/break-glass/", {"reason": "second attempt at the door"},
                    format="json")
    assert "intact" in verify()
    last = AuditEvent.objects.order_by("id").last()
    assert last is not None and last.pk > first[-1].pk
    assert json.loads(settings.AUDIT_ANCHOR_PATH.read_text())["last_id"] == last.pk


@pytest.mark.django_db
def test_tail_cut_after_the_last_checkpoint_is_caught_by_the_head(history, dispatcher):
    """DBA deletes events written after the last checkpoint, leaving AuditHead alone: the head gives it away.
    (Rewriting AuditHead too would pass inside this window: services/audit.py states what checkpoints guarantee.)"""
    anchored = checkpointed()
    dispatcher.post(f"/api/dispatch/orders/{history['id']}/break-glass/", {"reason": "second attempt at the door"},
                    format="json")
    AuditEvent.objects.filter(pk__gt=anchored[-1].pk).delete()
    with pytest.raises(CommandError) as exc:
        verify()
    assert "AuditHead does not match" in str(exc.value)


@pytest.mark.django_db
def test_a_run_without_an_earlier_checkpoint_says_so(history, settings):
    """Someone removed the anchor file: the operator's verify passes, but says it had nothing to compare with."""
    assert "no earlier checkpoint" in verify()
    assert "no earlier checkpoint" not in verify()
    settings.AUDIT_ANCHOR_PATH.unlink()
    assert "no earlier checkpoint" in verify()


def test_beat_runs_the_checkpoint(settings):
    """The checkpoint is on beat's schedule, at AUDIT_CHECKPOINT_S, under a task name the worker knows."""
    from config.celery import app
    from dispatch import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert entry["schedule"] == settings.AUDIT_CHECKPOINT_S
    assert app.tasks[entry["task"]].name == tasks.audit_checkpoint.name == entry["task"]
