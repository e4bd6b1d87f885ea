from django.conf import settings
from django.db import models

from .accounts import Rider
from .orders import Order


class OfferStatus(models.TextChoices):
    OPEN = "open", "open"
    ACCEPTED = "accepted", "accepted"
    DECLINED = "declined", "declined"
    EXPIRED = "expired", "expired"
    WITHDRAWN = "withdrawn", "withdrawn"  # dispatch assigned or offered the order otherwise, or it was cancelled


class Offer(models.Model):
    """A job put to one rider, who accepts or declines before `expires_at` (services/offers.py). At most one open
    offer per order. The rider sees only the job's outline (store, area, distances, item count, pay) until they
    accept: the order's address grant is created by the assignment that an acceptance makes."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="offers")
    rider = models.ForeignKey(Rider, on_delete=models.CASCADE, related_name="offers")
    status = models.CharField(max_length=12, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    auto = models.BooleanField(default=False)  # made by the store's auto-dispatch, not by a dispatcher
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The rider's distance to the store when offered (metres; None without a position): the offer shows it as made.
    pickup_distance_m = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=models.Q(status="open"), name="uniq_open_offer"),
        ]
        indexes = [models.Index(fields=["rider", "status"])]
