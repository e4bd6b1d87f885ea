from django.conf import settings
from django.db import models


class Store(models.Model):
    name = models.CharField(max_length=120)
    address = models.CharField(max_length=255)
    lat = models.FloatField()
    lng = models.FloatField()
    timezone = models.CharField(max_length=64, default="UTC")
    # The language of messages to a customer whose order names none (services/notify.py): "en" or "zh-hans".
    language = models.CharField(max_length=8, default="en")
    pickup_prefix = models.CharField(max_length=2, blank=True, default="")
    reveal_street_m = models.PositiveIntegerField(null=True, blank=True)
    reveal_door_m = models.PositiveIntegerField(null=True, blank=True)
    # A failed delivery: "unreachable" needs this many in-app calls to the customer and a door wait run out.
    fail_min_calls = models.PositiveSmallIntegerField(default=2)
    door_wait_s = models.PositiveIntegerField(default=300)
    # "return": a failed order goes back to the store at once; "retry": dispatch may send it out again
    # within retry_window_s, after which it goes back.
    fail_policy = models.CharField(max_length=8, choices=[("return", "return"), ("retry", "retry")], default="return")
    retry_window_s = models.PositiveIntegerField(default=1800)
    # The delivery time promised to a customer, from the order's creation, when the merchant names none:
    # this store's, else ORDER_PROMISE_S. An order still open after its promise raises a "late" alert.
    promise_s = models.PositiveIntegerField(null=True, blank=True)
    # Offers: what the store pays a rider per job, shown on the offer (None: no figure shown), and whether its new
    # orders are offered to riders one by one without a dispatcher (services/offers.py).
    offer_pay = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    auto_dispatch = models.BooleanField(default=False)
    # The service area (services/quotes.py): a polygon of [lat, lng] corners when set, else a circle of
    # service_radius_m around the store. Quotes and merchant orders outside it are refused (out_of_area).
    service_radius_m = models.PositiveIntegerField(default=8000)
    service_polygon = models.JSONField(null=True, blank=True)
    # What a rider must show to close a delivery (services/pod.py, docs/proof-of-delivery.md).
    pod_policy = models.CharField(max_length=16, choices=[
        ("pin", "pin"), ("photo", "photo"), ("pin_photo", "pin_photo"), ("id_check", "id_check"),
        ("leave_at_door", "leave_at_door")], default="pin")

    def __str__(self) -> str:
        return self.name


class Rider(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rider")
    display_name = models.CharField(max_length=60)
    # The rider's own number: used by the proxy to connect calls, never shown to a customer.
    phone = models.CharField(max_length=32)
    on_duty = models.BooleanField(default=True)
    last_lat = models.FloatField(null=True, blank=True)
    last_lng = models.FloatField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # What the rider's app last said of its location sharing (a code of services.detectors.GEO_STATES, e.g.
    # "denied", "unavailable", "offline") and when: the reason a stale device alert gives, when the app knows it.
    geo_state = models.CharField(max_length=16, blank=True, default="")
    geo_state_at = models.DateTimeField(null=True, blank=True)
    # The grid cell of (last_lat, last_lng) (dispatch/grid.py), written with them: the spatial index that
    # suggestions search ring by ring. None with no position.
    cell = models.IntegerField(null=True, blank=True)
    # The rider's fleet: the platform's (null) or one merchant's own. A merchant's riders get only that
    # merchant's orders (dispatch/services/fleets.py).
    fleet = models.ForeignKey("Merchant", on_delete=models.PROTECT, null=True, blank=True, related_name="own_riders")

    class Meta:
        indexes = [models.Index(fields=["cell", "on_duty"], name="rider_cell_duty")]

    def __str__(self) -> str:
        return self.display_name


class Staff(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="staff")


class Merchant(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="merchant")
    stores = models.ManyToManyField(Store, related_name="merchants")


class Dispatcher(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dispatcher")
    # "" sees every fleet; "platform" or "merchant:<id>" only that fleet's riders and orders.
    fleet_scope = models.CharField(max_length=24, blank=True, default="")
    # May read the platform's privacy and operations report (/dispatch/reports/): every store, every fleet, and
    # the break-glass reasons (truncated and with digits masked, docs/privacy-report.md).
    reports_admin = models.BooleanField(default=False)
