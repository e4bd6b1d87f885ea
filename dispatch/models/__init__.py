from .accounts import Dispatcher, Merchant, Rider, Staff, Store
from .alerts import Alert, AlertKind
from .audit import AuditEvent, AuditHead
from .events import Event
from .offers import Offer, OfferStatus
from .orders import HandoffCode, LocationFix, Order, OrderItem, OrderStatus, PickupCounter
from .pod import CustomerFeedback, DeliveryProof, FeedbackIssue, IdDocument
from .privacy import Grant, GrantPurpose, GrantScope, ProxySession, SealedRecord, SeenCallSid, Tier
from .rtc import ChatMessage, Interaction, InteractionKind, Party
from .safety import CustomerReport, ReportReason, RiderBlock, RiderLine
from .security import FailedAttempt

__all__ = [
    "Alert",
    "AlertKind",
    "AuditEvent",
    "AuditHead",
    "ChatMessage",
    "CustomerFeedback",
    "CustomerReport",
    "DeliveryProof",
    "FeedbackIssue",
    "IdDocument",
    "Dispatcher",
    "Event",
    "FailedAttempt",
    "Grant",
    "GrantPurpose",
    "GrantScope",
    "HandoffCode",
    "Interaction",
    "InteractionKind",
    "LocationFix",
    "Offer",
    "OfferStatus",
    "Merchant",
    "Order",
    "OrderItem",
    "OrderStatus",
    "Party",
    "PickupCounter",
    "ProxySession",
    "ReportReason",
    "Rider",
    "RiderBlock",
    "RiderLine",
    "SealedRecord",
    "SeenCallSid",
    "Staff",
    "Store",
    "Tier",
]
