"""Input and output serializers, one module per concern. Inputs take strict types and ranges, so bad input is
a 400 and never a 500; every response body is an output serializer's `.data`, and the same class is what the
view's `extend_schema(responses=...)` names, so `/api/schema/` is true by construction. An output serializer
renders what a selector or service already decided a party may see: none opens the vault."""

from .alerts import AlertAckIn, AlertListQuery, AlertOut
from .board import (
                    BoardOrderOut,
                    BoardOrdersQuery,
                    BoardRiderOut,
                    BreakGlassOut,
                    InteractionOut,
                    LineOut,
                    OverloadOut,
                    SuggestionOut,
                    SuggestionsIn,
)
from .calls import CallRouteOut, CallSessionOut, ChatMessageOut, TrackCallOut
from .common import ErrorOut, HealthOut, NamedOut, NotReadyOut, TokenOut
from .counter import CheckOut, EtaOut, HistoryOut, PackingLineOut, PackingOut, StoreOrderOut
from .exits import (
                    CancelIn,
                    DoorWaitOut,
                    DoorWaitStartedOut,
                    FailIn,
                    OrderExitOut,
                    OrderStatusOut,
                    ReturnIn,
                    RiderReturnOut,
                    StrictChoiceField,
)
from .fields import (
                    TEXT_ERRORS,
                    IsoDateTimeField,
                    OmitNoneSerializer,
                    StrictBooleanField,
                    StrictCharField,
                    StrictFloatField,
                    StrictIntegerField,
                    StrictRegexField,
)
from .inputs import AddressIn, AssignIn, BreakGlassIn, ConsentIn, CustomerIn, ItemIn, OrderIn, PinUnlockIn, PinUnlockOut
from .intake import OrderListQuery, OrderPageOut, QuoteIn, QuoteOut
from .location import LocationAckOut, LocationIn, TimestampField, location_in_fast
from .orders import (
                    ApproxPointOut,
                    ConsentOut,
                    CustomerOut,
                    DeliveredOut,
                    DestinationOut,
                    DoorPartsOut,
                    ItemLineOut,
                    ItemsOut,
                    MaskedOrderOut,
                    MerchantOrderOut,
                    OrderCreatedOut,
                    RiderCustomerOut,
                    RiderOrderOut,
                    StoreOut,
)
from .pod import (
                    PHOTO_RESPONSE,
                    DeliverIn,
                    FeedbackIn,
                    FeedbackOut,
                    FeedbackSentOut,
                    PodOut,
                    PodPhotoIn,
                    PodPhotoOut,
                    PodRequirementsOut,
)
from .rider import DutyOut, GeoStateIn, GeoStateOut, HandoffCodeOut, PickupCheckOut
from .tracking import AddressSeenOut, TrackConsentOut, TrackingOut

__all__ = [
    "TEXT_ERRORS", "AddressIn", "AddressSeenOut", "ApproxPointOut", "AssignIn", "BoardOrderOut", "BoardOrdersQuery",
    "BoardRiderOut", "BreakGlassIn", "PinUnlockIn", "PinUnlockOut",
    "BreakGlassOut", "CallRouteOut", "CallSessionOut", "ChatMessageOut", "CheckOut", "ConsentIn", "ConsentOut",
    "CustomerIn", "CustomerOut", "DeliveredOut", "DestinationOut", "DoorPartsOut", "DutyOut", "ErrorOut", "EtaOut",
    "HandoffCodeOut", "HistoryOut", "InteractionOut", "IsoDateTimeField", "ItemIn", "ItemLineOut", "ItemsOut",
    "LocationAckOut", "LocationIn", "MaskedOrderOut", "NamedOut", "OmitNoneSerializer", "OrderCreatedOut",
    "OrderIn", "OverloadOut", "PackingLineOut", "PackingOut", "PickupCheckOut", "RiderCustomerOut", "RiderOrderOut",
    "StoreOrderOut", "StoreOut", "StrictBooleanField", "StrictCharField", "StrictFloatField", "StrictIntegerField",
    "StrictRegexField", "TimestampField", "TokenOut", "HealthOut", "NotReadyOut",
    "TrackCallOut", "TrackConsentOut", "TrackingOut",
    "location_in_fast",
    "CancelIn", "DoorWaitOut", "DoorWaitStartedOut", "FailIn", "OrderExitOut", "OrderStatusOut", "ReturnIn",
    "RiderReturnOut", "StrictChoiceField",
    "OrderListQuery", "OrderPageOut", "QuoteIn", "QuoteOut",
    "PHOTO_RESPONSE", "DeliverIn", "FeedbackIn", "FeedbackOut", "FeedbackSentOut", "MerchantOrderOut", "PodOut", "PodPhotoIn",
    "PodPhotoOut", "PodRequirementsOut",
    "AlertAckIn", "AlertListQuery", "AlertOut", "GeoStateIn", "GeoStateOut", "SuggestionOut", "SuggestionsIn",
    "LineOut",
]
