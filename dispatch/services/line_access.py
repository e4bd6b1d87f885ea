"""Who may use a rider's line to dispatch, and where its frames go (no transport here; `rtc` and `lines` use it).

The line joins one rider and dispatch of the rider's fleet, with no order and no customer data, so it needs no
grant: it is open while the rider is on duty, or while an SOS of theirs is open (a rider in trouble who went
off duty can still be reached)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..errors import DomainError
from ..models import Alert, AlertKind, Party, Rider
from .events import group_rider
from .fleets import dispatch_groups, fleet_of
from .privacy import party_hash

LINE_ROLES = frozenset((Party.RIDER, Party.DISPATCH))


def line_open_for(rider: Rider) -> bool:
    """Read now, not from a row loaded earlier (a socket keeps the one it loaded at connect)."""
    if Rider.objects.filter(pk=rider.pk, on_duty=True).exists():
        return True
    return Alert.objects.filter(kind=AlertKind.SOS, rider_id=rider.pk, acked_at__isnull=True).exists()


def line_check(*, rider: Rider, a: str, b: str) -> None:
    if frozenset((a, b)) != LINE_ROLES:
        raise DomainError(_("This line joins a rider and dispatch only."), code="invalid_party")
    if not line_open_for(rider):
        raise DomainError(_("Go on duty to reach dispatch."), code="line_closed")


def line_groups(rider: Rider, role: str) -> list[str]:
    """The rider's own sockets, or the dispatch sockets of the rider's fleet."""
    return [group_rider(rider.pk)] if role == Party.RIDER else dispatch_groups(fleet_of(rider))


def line_party_hash(*, role: str, rider: Rider, user) -> str:
    return party_hash(Party.RIDER, rider.pk) if role == Party.RIDER else party_hash(role, user.pk)
