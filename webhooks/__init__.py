"""Webhooks: endpoints that clients register, and the signed deliveries of events to them
(Standard Webhooks), with retries, attempts on record and endpoints that keep failing disabled."""
