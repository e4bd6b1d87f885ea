"""A rider's line to dispatch: in-app calls and chat with no order, no grant and no customer data.

The same machinery as an order's calls (`rtc`): a live call is an `Interaction` row (here with `line` set
instead of `order`), signalled only between its two sockets, and ended by the same paths; chat messages are
sealed under the line's own key. Every call and message is logged as other interactions are (roles, hashed
ids, times, outcomes) and audited."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..errors import DomainError, Invalid
from ..models import ChatMessage, Interaction, InteractionKind, Party, Rider, RiderLine
from .audit import audit_record
from .events import event_publish
from .line_access import line_check, line_groups, line_party_hash
from .privacy import line_key_new, line_seal
from .rtc import CHAT_MAX, Caller, _after_commit, ice_servers, live_calls


def line_of(rider: Rider) -> RiderLine:
    """The rider's line, made (with its key) the first time it is used."""
    line = RiderLine.objects.filter(rider=rider).first()
    if line is not None:
        return line
    key_id, wrapped = line_key_new(rider_id=rider.pk)
    try:
        with transaction.atomic():
            return RiderLine.objects.create(rider=rider, key_id=key_id, wrapped_key=wrapped)
    except IntegrityError:  # made at the same moment elsewhere
        return RiderLine.objects.get(rider=rider)


def line_messages_retire(*, before) -> int:
    """Retention: the lines' chat messages older than `before` are deleted (their log rows are aggregated by
    `rtc.interactions_retire`)."""
    deleted, _ = ChatMessage.objects.filter(line__isnull=False, created_at__lt=before).delete()
    return deleted


def line_call_start(*, party: Caller, rider: Rider, to: str, channel: str) -> tuple[Interaction, list[dict[str, Any]]]:
    """Ring `to` on `rider`'s line (authorised for `party` by `selectors.access_line_rider`). Any dispatcher of
    the rider's fleet may answer; a second call while one is live on the line is refused as busy."""
    with transaction.atomic():
        line_check(rider=rider, a=party.role, b=to)
        line = line_of(rider)
        RiderLine.objects.select_for_update().filter(pk=line.pk).first()  # one call starts at a time per line
        if live_calls().filter(line=line).exists():
            raise DomainError("They are on another call.", code="busy")
        call = Interaction.objects.create(
            line=line, kind=InteractionKind.CALL, caller_role=party.role, callee_role=to, caller_channel=channel,
            caller_hash=line_party_hash(role=party.role, rider=rider, user=party.user))
        audit_record(actor=party.user, action="call.inapp_started",
                     data={"call": call.pk, "line": rider.pk, "from": party.role, "to": to})
        ring = {"type": "call.ring", "call": call.pk, "order": None, "line": rider.pk, "from": party.role}
        if to == Party.DISPATCH:
            ring["name"] = rider.display_name  # dispatch sees its riders' names on the board anyway
        for group in line_groups(rider, to):
            _after_commit(group, ring, group=True)
    return call, ice_servers(call_id=call.pk)


@transaction.atomic
def line_chat_send(*, party: Caller, rider: Rider, to: str, text: str, client_id: str = "") -> ChatMessage:
    line_check(rider=rider, a=party.role, b=to)
    text = (text or "").strip()
    if not text or len(text) > CHAT_MAX:
        raise Invalid(f"Write 1 to {CHAT_MAX} characters.", code="invalid")
    line = line_of(rider)
    message = ChatMessage.objects.create(line=line, sender=party.role, recipient=to,
                                         sealed=line_seal(line=line, sender=party.role, recipient=to, text=text))
    now = timezone.now()
    Interaction.objects.create(line=line, kind=InteractionKind.CHAT, caller_role=party.role,
                               caller_hash=line_party_hash(role=party.role, rider=rider, user=party.user),
                               callee_role=to, state="ended", outcome="sent", ended_by=party.role, answered_at=now,
                               ended_at=now)
    event_publish(groups=line_groups(rider, Party.RIDER) + line_groups(rider, Party.DISPATCH), type="chat.message",
                  payload={"order": None, "line": rider.pk, "id": message.pk, "from": party.role, "to": to,
                           "client_id": str(client_id or "")[:40]})
    return message
