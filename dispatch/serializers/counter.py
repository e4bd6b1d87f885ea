"""The store counter: the queue's orders (`selectors.CounterOrder`), the dry run, the packing list, today's
handoffs. The counter needs no destination at all: these carry no area and no point."""

from __future__ import annotations

from rest_framework import serializers

from .common import NamedOut
from .fields import IsoDateTimeField
from .orders import ConsentOut, CustomerOut, ItemsOut


class EtaOut(serializers.Serializer):
    minutes = serializers.IntegerField(allow_null=True)
    label = serializers.CharField(help_text='Coarse, e.g. "arriving in ~4 min". Never a position.')


class StoreOrderOut(serializers.Serializer):
    id = serializers.IntegerField(source="order.pk")
    status = serializers.CharField(source="order.status")
    external_ref = serializers.CharField(source="order.external_ref")
    pickup_code = serializers.CharField(source="order.pickup_code")
    store = NamedOut(source="order.store")
    customer = CustomerOut(source="order")
    items = ItemsOut(source="order")
    consent = ConsentOut(source="order")
    rider = NamedOut(source="order.rider", allow_null=True)
    created_at = IsoDateTimeField(source="order.created_at")
    ready_at = IsoDateTimeField(source="order.ready_at", allow_null=True)
    picked_up_at = IsoDateTimeField(source="order.picked_up_at", allow_null=True)
    delivered_at = IsoDateTimeField(source="order.delivered_at", allow_null=True)
    eta = EtaOut(allow_null=True)
    age_s = serializers.IntegerField()
    label_url = serializers.CharField()


class CheckOut(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField()
    order = StoreOrderOut()


class PackingLineOut(serializers.Serializer):
    name = serializers.CharField()
    qty = serializers.IntegerField()
    sensitive = serializers.BooleanField()
    category = serializers.CharField()


class PackingOut(serializers.Serializer):
    """Renders `(order, lines)`: the lines as `services.counter.order_packing_list` unsealed them."""

    id = serializers.IntegerField(source="order.pk")
    pickup_code = serializers.CharField(source="order.pickup_code")
    lines = PackingLineOut(many=True)


class HistoryOut(serializers.Serializer):
    order = serializers.IntegerField()
    pickup_code = serializers.CharField()
    at = IsoDateTimeField()
    by = serializers.CharField(help_text="The staff account that released the bag.")
    rider = NamedOut(allow_null=True)
    undone = serializers.BooleanField()
    undone_at = IsoDateTimeField(allow_null=True)
    undone_by = serializers.CharField(allow_null=True)
    undo_until = IsoDateTimeField(allow_null=True, help_text="Set while the handoff can still be undone.")
