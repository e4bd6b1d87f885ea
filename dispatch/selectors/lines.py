"""A rider's line to dispatch (services/lines.py): who may reach whose line, and its messages for a party.

The rider reaches only their own line; a dispatcher reaches the lines of riders in their fleet scope. Anyone
else, and another rider's line, is 404, as for any object that is not yours. `dispatch_lines` lists a
dispatcher's lines (the board's earlier threads after a reload): counts and times only, no message text."""

from __future__ import annotations

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Coalesce

from ..errors import NotFound
from ..models import ChatMessage, InteractionKind, Rider, RiderLine
from ..permissions import is_dispatcher, rider_of
from ..services.fleets import dispatcher_scope, fleet_sees_rider, riders_q
from ..services.privacy import line_open
from .chat import ChatLine


def access_line_rider(*, party, rider_id) -> Rider:
    """The rider whose line `party` (a `services.rtc.Caller` on a socket) may use: theirs, or one of their fleet."""
    if type(rider_id) is not int and not (isinstance(rider_id, str) and rider_id.isdecimal() and rider_id.isascii()):
        raise NotFound()  # not a bool, a fraction or a name
    wanted = int(rider_id)
    if party.role == "rider":
        rider = rider_of(party.user)
        if rider is None or rider.pk != wanted:
            raise NotFound()
        return rider
    if party.role == "dispatch" and is_dispatcher(party.user):
        rider = Rider.objects.filter(pk=wanted).first()
        if rider is None or not fleet_sees_rider(dispatcher_scope(party.user), rider):
            raise NotFound()
        return rider
    raise NotFound()


def line_history(*, party, rider_id) -> list[ChatLine]:
    """The line's last 500 messages, opened (audited) for `party`."""
    rider = access_line_rider(party=party, rider_id=rider_id)
    line = RiderLine.objects.filter(rider=rider).first()
    if line is None:
        return []
    messages = list(reversed(ChatMessage.objects.filter(line=line).order_by("-pk")[:500]))
    texts = line_open(line=line, messages=messages, reader=party.role, actor=party.user)
    return [ChatLine(m, texts.get(m.pk)) for m in messages]


def line_texts(*, party, rider_id, ids: list[int]) -> dict[int, str]:
    """Texts of these line messages for `party`, only while it may reach the line; {} otherwise."""
    try:
        rider = access_line_rider(party=party, rider_id=rider_id)
    except NotFound:
        return {}
    line = RiderLine.objects.filter(rider=rider).first()
    if line is None:
        return {}
    return line_open(line=line, messages=list(ChatMessage.objects.filter(line=line, pk__in=ids)),
                     reader=party.role, actor=party.user)


LINES_MAX = 200  # a list answers at most this many lines (the most recently used)


def dispatch_lines(*, user) -> QuerySet[RiderLine]:
    """The lines of the riders in the dispatcher's fleet scope (none for anyone else), most recently used first,
    each with `messages` and `calls` (how many, as logged) and `last_at` (the last call or message, else when the
    line was made)."""
    if not is_dispatcher(user):
        return RiderLine.objects.none()
    riders = Rider.objects.filter(riders_q(dispatcher_scope(user))).values("pk")
    return (RiderLine.objects.filter(rider__in=riders).select_related("rider")
            .annotate(messages=Count("interactions", filter=Q(interactions__kind=InteractionKind.CHAT)),
                      calls=Count("interactions", filter=Q(interactions__kind=InteractionKind.CALL)),
                      last_at=Coalesce(Max("interactions__started_at"), "created_at"))
            .order_by("-last_at", "-pk"))
