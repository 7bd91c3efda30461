"""Ingestion: the arXiv poller's client and cadence, webhooks, page fetching, personal data.

Untrusted bytes (Atom feeds, README/model-card pages) are only ever parsed by
``service.ingest.parsers`` inside ``service.security.sandbox``; everything here handles parsed
results.
"""
