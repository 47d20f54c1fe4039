"""Delivery of the live feed: the change-stream watcher (live_feed.py), the WebSocket protocol
handlers (handlers.py, with their message checks and per-caller limits), the sharing of
identical subscriptions (sharing.py) and the direct writer to uvicorn's socket
(socket_writer.py)."""
