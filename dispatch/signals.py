"""The domain's signals, for what must reach a layer above the services without the services importing it.

`traces_erased`: an order's stored traces were erased (`services/area.py`, inside the shredding transaction),
with `order_id` and `rider_ids`; the live path drops its in-memory engine state for them
(`dispatch.live.state.traces_erased_forget`, connected in `dispatch.apps`)."""

from django.dispatch import Signal

traces_erased = Signal()
