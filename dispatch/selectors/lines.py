"""A rider's line to dispatch (services/lines.py): who may reach whose line, and its messages for a party.

The rider reaches only their own line; a dispatcher reaches the lines of riders in their fleet scope. Anyone
else, and another rider's line, is 404, as for any object that is not yours."""

from __future__ import annotations

from ..errors import NotFound
from ..models import ChatMessage, Rider, RiderLine
from ..permissions import is_dispatcher, rider_of
from ..services.fleets import dispatcher_scope, fleet_sees_rider
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
