"""Outbound webhooks, the pure part: event types, payloads, signatures, the retry schedule and
the rules for a target URL and a secret. No I/O: storage/webhooks.py keeps webhooks and their
deliveries, services/webhook_delivery.py sends them."""
