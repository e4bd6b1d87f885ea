from .accounts import Dispatcher, Merchant, Rider, Staff, Store
from .alerts import Alert, AlertKind
from .audit import AuditEvent, AuditHead
from .events import Event
from .intake import IdempotencyKey, Quote
from .notify import CustomerMessage, MessageChannel, MessageKind, MessageOptOut, MessagePrefs, MessageState, PushSubscription
from .offers import Offer, OfferStatus
from .orders import HandoffCode, LocationFix, Order, OrderItem, OrderStatus, PickupCounter
from .pod import CustomerFeedback, DeliveryProof, FeedbackIssue, IdDocument
from .privacy import Grant, GrantPurpose, GrantScope, ProxySession, SealedRecord, SeenCallSid, Tier
from .rtc import ChatMessage, Interaction, InteractionKind, Party
from .safety import CustomerReport, ReportReason, RiderBlock, RiderLine
from .security import FailedAttempt
from .webhooks import (
    WebhookDelivery,
    WebhookDeliveryState,
    WebhookEndpoint,
    WebhookEndpointState,
)

__all__ = [
    "Alert",
    "AlertKind",
    "AuditEvent",
    "AuditHead",
    "ChatMessage",
    "CustomerFeedback",
    "CustomerMessage",
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
    "IdempotencyKey",
    "Interaction",
    "InteractionKind",
    "LocationFix",
    "MessageChannel",
    "MessageKind",
    "MessageOptOut",
    "MessagePrefs",
    "MessageState",
    "Offer",
    "OfferStatus",
    "Merchant",
    "Order",
    "OrderItem",
    "OrderStatus",
    "Party",
    "PickupCounter",
    "ProxySession",
    "PushSubscription",
    "Quote",
    "ReportReason",
    "Rider",
    "RiderBlock",
    "RiderLine",
    "SealedRecord",
    "SeenCallSid",
    "Staff",
    "Store",
    "Tier",
    "WebhookDelivery",
    "WebhookDeliveryState",
    "WebhookEndpoint",
    "WebhookEndpointState",
]
