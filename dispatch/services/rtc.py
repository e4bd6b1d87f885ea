"""In-app calls (WebRTC signalling) and masked chat between an order's parties, with no number anywhere.

A party is a role on one order: the rider holding it, the customer holding its tracking link, or the store's
staff. Every call or chat message is authorised with the same selectors as HTTP, on every message. A live call
is an `Interaction` row: signalling goes only to the two sockets in it (their channel names), ringing to the
callee's group. Frames carry ids, roles and states; chat text only reaches the two parties' sockets, opened
through the privacy service at delivery. The interaction log keeps roles, hashed ids, times and outcomes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..errors import DomainError, Invalid, NotFound
from ..models import ChatMessage, GrantScope, Interaction, InteractionKind, Order, OrderStatus, Party
from .audit import audit_record
from .events import GROUP_DISPATCH, event_publish, group_rider, group_store, group_track, layer_send, rtc_target
from .fleets import order_dispatch_groups
from .line_access import line_check, line_groups, line_open_for, line_party_hash
from .privacy import chat_seal, live_grants, party_hash

LIVE = ("ringing", "connected")
PAIRS = {frozenset(("rider", "customer")), frozenset(("rider", "store")), frozenset(("store", "customer")),
         frozenset(("dispatch", "rider")), frozenset(("dispatch", "customer"))}
CHAT_MAX = 1000
SIGNAL_KINDS = ("offer", "answer", "ice", "rejoin")


@dataclass(frozen=True)
class Caller:
    """Who is on a socket: a role and what proves it (the user for rider and staff, the link's token)."""

    role: str
    user: Any = None
    token: str = ""


# --- Windows ----------------------------------------------------------------------------------------------
def line_party_hash_of(*, party: Caller, call: Interaction) -> str:
    assert call.line is not None
    return line_party_hash(role=party.role, rider=call.line.rider, user=party.user)


def party_id_hash(*, party: Caller, order: Order) -> str:
    if party.role == Party.CUSTOMER:
        return party_hash("customer", order.pk)
    if party.role == Party.RIDER:
        return party_hash("rider", order.rider_id or 0)
    return party_hash(party.role, party.user.pk)


def _rider_holds(order: Order) -> bool:
    if order.rider is None:
        return False
    return live_grants().filter(order=order, principal_id=order.rider.user_id, scope=GrantScope.ADDRESS).exists()


def window_check(*, order: Order, a: str, b: str) -> None:
    """The rider from assignment until access ends; customer and store until the after-sales window closes."""
    if frozenset((a, b)) not in PAIRS:
        raise Invalid("You cannot reach that party here.", code="invalid_party")
    if order.status == OrderStatus.CANCELLED:
        raise DomainError("This order was cancelled.", code="wrong_state")
    if Party.DISPATCH in (a, b) and not live_grants().filter(order=order, scope=GrantScope.CONTACT).exists():
        raise DomainError("Dispatch joins only through break-glass.", code="no_break_glass")
    if Party.RIDER in (a, b):
        if not _rider_holds(order):
            raise DomainError("No rider holds this order now.", code="no_rider")
        return
    if order.delivered_at and timezone.now() > order.delivered_at + timedelta(seconds=settings.CALL_WINDOW_S):
        raise DomainError("The after-sales window is closed.", code="call_window_closed")


def group_of(order: Order, role: str) -> str:
    if role == Party.RIDER:
        return group_rider(order.rider_id or 0)
    if role == Party.CUSTOMER:
        return group_track(order.pk)
    if role == Party.DISPATCH:
        return GROUP_DISPATCH
    return group_store(order.store_id)


def groups_of(order: Order, role: str) -> list[str]:
    """`group_of`, but dispatch as the groups of the fleets that see the order (services/fleets.py)."""
    return order_dispatch_groups(order) if role == Party.DISPATCH else [group_of(order, role)]


def call_groups(call: Interaction, role: str) -> list[str]:
    """Where `role` of this call listens: an order's party group, or a rider line's (services/lines.py)."""
    if call.line is not None:
        return line_groups(call.line.rider, role)
    assert call.order is not None
    return [group_of(call.order, role)]


def reachable(*, party: Caller, order: Order) -> dict[str, bool]:
    """Which other parties this party may call or chat with now (for the buttons)."""
    out: dict[str, bool] = {}
    for role in (Party.RIDER, Party.CUSTOMER, Party.STORE, Party.DISPATCH):
        if role == party.role:
            continue
        try:
            window_check(order=order, a=party.role, b=role)
            out[str(role)] = True
        except DomainError:
            out[str(role)] = False
    return out


# --- Frames -----------------------------------------------------------------------------------------------
def _send(target: str, frame: dict[str, Any], *, group: bool) -> None:
    if not target:
        return
    layer_send("group_send" if group else "send", target, {"type": "rtc.frame", "frame": frame})


def _after_commit(target: str, frame: dict[str, Any], *, group: bool = False) -> None:
    transaction.on_commit(partial(_send, target, frame, group=group))


def ice_servers(*, call_id: int) -> list[dict[str, Any]]:
    """ICE_SERVERS, with short-lived TURN credentials minted for this call (TURN REST: `expiry:callid`,
    base64 HMAC-SHA1 under TURN_SECRET). Sent only to the two sockets of the call."""
    servers = []
    expiry = int(time.time()) + settings.TURN_TTL_S
    for server in settings.ICE_SERVERS:
        server = dict(server)
        urls = server.get("urls", [])
        urls = [urls] if isinstance(urls, str) else list(urls)
        if settings.TURN_SECRET and any(u.startswith(("turn:", "turns:")) for u in urls):
            username = f"{expiry}:call{call_id}"
            digest = hmac.new(settings.TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
            server.update(username=username, credential=base64.b64encode(digest).decode())
        servers.append(server)
    return servers


# --- Calls -----------------------------------------------------------------------------------------------
def _live_calls():
    return Interaction.objects.filter(kind=InteractionKind.CALL, state__in=LIVE)


def _end(call: Interaction, *, outcome: str, by: str) -> None:
    now = timezone.now()
    call.state, call.outcome, call.ended_by, call.ended_at = "ended", outcome, by, now
    call.save(update_fields=["state", "outcome", "ended_by", "ended_at"])
    audit_record(action="call.inapp_ended", order=call.order,
                 data={"call": call.pk, "outcome": outcome, "by": by,
                       **({"line": call.line.rider_id} if call.line is not None else {})})
    # Through the outbox, not straight to the layer: the sweep ends calls from the worker, whose in-memory
    # layer (the embedded profile) reaches no socket; the web process relays it. Only to the call's two
    # sockets and the callee's group (to stop the ringing on every device).
    frame = {"type": "call.ended", "call": call.pk, "order": call.order_id, "outcome": outcome, "by": by}
    if call.line is not None:
        frame["line"] = call.line.rider_id
    targets = [rtc_target(call.caller_channel, group=False), rtc_target(call.callee_channel, group=False),
               *(rtc_target(g, group=True) for g in call_groups(call, call.callee_role))]
    event_publish(groups=[t for t in targets if t], type="call.ended", payload=frame)


def call_start(*, party: Caller, order: Order, to: str, channel: str) -> tuple[Interaction, list[dict[str, Any]]]:
    """Ring `to` on `order` (authorised for `party` by `selectors.access_party_order`). A second call while one
    is live is refused as busy (and logged as such)."""
    if to == Party.DISPATCH:
        raise Invalid("Dispatch calls you; reply in the chat.", code="invalid_party")
    with transaction.atomic():
        window_check(order=order, a=party.role, b=to)
        me = party_id_hash(party=party, order=order)
        busy = _live_calls().select_for_update().filter(order=order).exists()
        call = Interaction(order=order, kind=InteractionKind.CALL, caller_role=party.role, caller_hash=me,
                           callee_role=to, caller_channel=channel,
                           # the rider it rings: only they may answer, and the call is theirs (`_still_allowed`)
                           callee_hash=party_hash(Party.RIDER, order.rider_id or 0) if to == Party.RIDER else "")
        if not busy:
            call.save()
            audit_record(action="call.inapp_started", order=order, data={"call": call.pk, "from": party.role, "to": to})
            _after_commit(group_of(order, to), {"type": "call.ring", "call": call.pk, "order": order.pk,
                                                "from": party.role}, group=True)
            return call, ice_servers(call_id=call.pk)
        call.state, call.outcome, call.ended_by, call.ended_at = "ended", "busy", "server", timezone.now()
        call.caller_channel = ""
        call.save()
    raise DomainError("They are on another call about this order.", code="busy")


def live_calls():
    return _live_calls()


def _relock(call: Interaction) -> Interaction:
    """The call row again, locked, still live: authorised by `selectors.access_call` just before."""
    try:
        return _live_calls().select_for_update(of=("self",)).select_related("order", "line__rider").get(pk=call.pk)
    except Interaction.DoesNotExist as exc:
        raise NotFound() from exc


def call_end_if_access_lost(*, call_id) -> None:
    """A party was refused on this call: if one of its parties lost access, the server ends it."""
    call = _live_calls().filter(pk=call_id if isinstance(call_id, int) else -1).select_related("order").first()
    if call is not None and call.line_id is not None:
        calls_end_lost_access(line=call.line_id)
    elif call is not None:
        calls_end_lost_access(order=call.order)


@transaction.atomic
def call_accept(*, party: Caller, call: Interaction, side: str, channel: str) -> tuple[Interaction, list[dict[str, Any]]]:
    call = _relock(call)
    order = call.order
    if call.line is not None:  # a rider's line to dispatch (services/lines.py)
        me = line_party_hash_of(party=party, call=call)
    else:
        assert order is not None
        me = party_id_hash(party=party, order=order)
    if side != "callee" or call.state != "ringing" or (call.callee_hash and me != call.callee_hash):
        raise DomainError("This call cannot be answered.", code="wrong_state")
    if call.line is not None:
        line_check(rider=call.line.rider, a=call.caller_role, b=call.callee_role)
    else:
        assert order is not None
        window_check(order=order, a=call.caller_role, b=call.callee_role)
    call.state, call.answered_at = "connected", timezone.now()
    call.callee_channel, call.callee_hash = channel, me
    call.save(update_fields=["state", "answered_at", "callee_channel", "callee_hash"])
    line = {"line": call.line.rider_id} if call.line is not None else {}
    _after_commit(call.caller_channel, {"type": "call.accepted", "call": call.pk, "order": call.order_id, **line})
    for group in call_groups(call, call.callee_role):
        _after_commit(group, {"type": "call.answered", "call": call.pk, "order": call.order_id, **line}, group=True)
    return call, ice_servers(call_id=call.pk)


END_ACTIONS = {"decline": "declined", "hangup": "completed", "timeout": "missed", "fail": "failed", "cancel": "cancelled"}


@transaction.atomic
def call_end(*, call: Interaction, side: str, action: str) -> Interaction:
    call = _relock(call)
    outcome = END_ACTIONS.get(action)
    if outcome is None:
        raise Invalid("Unknown action.", code="invalid")
    if call.state == "ringing" and action == "hangup":
        outcome = "cancelled" if side == "caller" else "declined"
    if call.state == "connected" and action in ("decline", "timeout", "cancel"):
        outcome = "completed"
    _end(call, outcome=outcome, by=call.caller_role if side == "caller" else call.callee_role)
    return call


@transaction.atomic
def call_signal(*, call: Interaction, side: str, channel: str, kind: str, body: dict[str, Any]) -> None:
    """Relay an offer, answer, ICE candidate or rejoin to the other socket of the call, and nowhere else. A
    reconnected socket takes its place here (any signal from it updates its channel)."""
    if kind not in SIGNAL_KINDS:
        raise Invalid("Unknown signal.", code="invalid")
    call = _relock(call)
    if call.state != "connected":
        raise DomainError("This call is not connected.", code="wrong_state")
    mine = "caller_channel" if side == "caller" else "callee_channel"
    if getattr(call, mine) != channel:
        setattr(call, mine, channel)
        call.save(update_fields=[mine])
    other = call.callee_channel if side == "caller" else call.caller_channel
    _after_commit(other, {"type": "call.signal", "call": call.pk, "kind": kind, **body})


def _its_rider_holds(call: Interaction, order: Order) -> bool:
    """Whether the rider on this call (caller, or callee rung or answering) is the one who holds the order now,
    not only whether the order has a rider: a reassignment that did not cut the call is caught here."""
    mine = call.caller_hash if call.caller_role == Party.RIDER else call.callee_hash
    return _rider_holds(order) and (not mine or mine == party_hash(Party.RIDER, order.rider_id or 0))


def _still_allowed(call: Interaction, role: str) -> bool:
    if call.line is not None:
        return line_open_for(call.line.rider)
    assert call.order_id is not None
    order = Order.objects.select_related("rider").get(pk=call.order_id)
    if role == Party.RIDER and not _its_rider_holds(call, order):
        return False
    if role == Party.CUSTOMER and order.tracking_expires_at <= timezone.now():
        return False
    try:
        window_check(order=order, a=call.caller_role, b=call.callee_role)
    except DomainError:
        return False
    return True


@transaction.atomic
def calls_end_lost_access(*, order: Order | None = None, line: int | None = None) -> int:
    """End every live call a party of which lost access (revocation, reassignment, link expiry), or that rang
    unanswered for RING_TIMEOUT_S. Run where access is revoked and from the lifecycle sweep."""
    qs = _live_calls().select_for_update(of=("self",)).select_related("order", "line__rider")
    if order is not None:
        qs = qs.filter(order=order)
    if line is not None:
        qs = qs.filter(line_id=line)
    ring_due = timezone.now() - timedelta(seconds=settings.RING_TIMEOUT_S)
    ended = 0
    for call in qs:
        if call.state == "ringing" and call.started_at <= ring_due:
            _end(call, outcome="missed", by="server")
        elif not (_still_allowed(call, call.caller_role) and _still_allowed(call, call.callee_role)):
            _end(call, outcome="revoked", by="server")
        else:
            continue
        ended += 1
    return ended


# --- Chat ------------------------------------------------------------------------------------------------
@transaction.atomic
def chat_send(*, party: Caller, order: Order, to: str, text: str, client_id: str = "") -> ChatMessage:
    window_check(order=order, a=party.role, b=to)
    text = (text or "").strip()
    if not text or len(text) > CHAT_MAX:
        raise Invalid(f"Write 1 to {CHAT_MAX} characters.", code="invalid")
    client_id = str(client_id or "")[:40]
    message = ChatMessage.objects.create(order=order, sender=party.role, recipient=to,
                                         sealed=chat_seal(order=order, sender=party.role, recipient=to, text=text))
    now = timezone.now()
    Interaction.objects.create(order=order, kind=InteractionKind.CHAT, caller_role=party.role,
                               caller_hash=party_id_hash(party=party, order=order), callee_role=to, state="ended",
                               outcome="sent", ended_by=party.role, answered_at=now, ended_at=now)
    event_publish(groups=[*groups_of(order, party.role), *groups_of(order, to)], type="chat.message",
                  payload={"order": order.pk, "id": message.pk, "from": party.role, "to": to, "client_id": client_id})
    return message


# --- The interaction log -------------------------------------------------------------------------------
def interaction_log(*, order: Order) -> list[dict[str, Any]]:
    """For safety review: roles, hashed ids, times, durations, outcomes. Never content or numbers."""
    rows = []
    for i in Interaction.objects.filter(order=order).order_by("pk"):
        duration = None
        if i.answered_at and i.ended_at and i.kind != InteractionKind.CHAT:
            duration = round((i.ended_at - i.answered_at).total_seconds())
        rows.append({"id": i.pk, "kind": i.kind, "from": {"role": i.caller_role, "id": i.caller_hash},
                     "to": {"role": i.callee_role, "id": i.callee_hash or None}, "state": i.state,
                     "started_at": i.started_at.isoformat(), "duration_s": duration, "outcome": i.outcome or None,
                     "ended_by": i.ended_by or None})
    return rows


def phone_call_log(*, order: Order, caller_role: str, caller_ident: int, callee_role: str, outcome: str) -> None:
    """A proxy-number call for the log: who (roles, hashed ids) and the outcome; never a number."""
    now = timezone.now()
    Interaction.objects.create(order=order, kind=InteractionKind.PHONE, caller_role=caller_role,
                               caller_hash=party_hash(caller_role, caller_ident), callee_role=callee_role,
                               state="ended", outcome=outcome, ended_by="", ended_at=now)


def interactions_retire(*, before) -> dict[str, int]:
    """Retention: interaction rows older than `before` are reduced to counts by kind and outcome, then deleted."""
    old = Interaction.objects.filter(started_at__lt=before)
    counts: dict[str, int] = {}
    for kind, outcome in old.values_list("kind", "outcome"):
        key = f"{kind}.{outcome or 'open'}"
        counts[key] = counts.get(key, 0) + 1
    old.delete()
    return counts
