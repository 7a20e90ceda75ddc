"""``events_committed`` is sent once after each transaction that recorded events commits (never for
one that rolled back). Receivers get ``sender=Event`` and nothing else: they read the new rows
after their own cursor (the primary key)."""

from django.dispatch import Signal

events_committed = Signal()

# Sent by a crediting chunk, in its transaction, with transfer_id, city_id and now: the receiver
# records person.balance.changed for the accounts the transfer credited for the first time.
creditings_posted = Signal()
