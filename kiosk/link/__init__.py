"""The kiosk's link to the collection center: HTTP client, durable outbox, upload worker.

``client`` talks API v1; ``outbox`` keeps every submitted photo on disk until
the center acknowledges it; ``worker`` drains the outbox and sends heartbeats;
``embedded`` runs the center in-process for a standalone booth.
"""
