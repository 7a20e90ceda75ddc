"""The HTTP interface: one package per part of the domain, each with its views (apis.py)
and its routes (urls.py); the shared view plumbing (base.py), idempotency and the service views."""
