from .accounts import Dispatcher, Merchant, Rider, Staff, Store
from .audit import AuditEvent, AuditHead
from .events import Event
from .orders import HandoffCode, LocationFix, Order, OrderItem, OrderStatus, PickupCounter
from .privacy import Grant, GrantPurpose, GrantScope, ProxySession, SealedRecord, SeenCallSid, Tier
from .security import FailedAttempt

__all__ = [
    "AuditEvent",
    "AuditHead",
    "Dispatcher",
    "Event",
    "FailedAttempt",
    "Grant",
    "GrantPurpose",
    "GrantScope",
    "HandoffCode",
    "LocationFix",
    "Merchant",
    "Order",
    "OrderItem",
    "OrderStatus",
    "PickupCounter",
    "ProxySession",
    "Rider",
    "SealedRecord",
    "SeenCallSid",
    "Staff",
    "Store",
    "Tier",
]
