"""The live path, the engine room: the web server and its sockets, the channel layers, the ping with the reveal
engine's in-memory state, the batch writers and the batched frames.

Layering: the live path sits above the domain (it may import services, models, the geofence), and the domain
imports neither it nor any transport (import-linter contracts in pyproject.toml). Where the domain must reach it,
it does so through what it defines itself, filled in by `dispatch.apps` when the app is ready:
- the outbox's transport: `services.events.transport_set(publish.layer_send, ...)`;
- erasure's reach into the engine's state: the `dispatch.signals.traces_erased` signal, received by
  `state.traces_erased_forget`.
The edges (rider, pickup, board, tracking, intake) use only `facade`."""
