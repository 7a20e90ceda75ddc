"""The event log: a row for each state change a client may want to hear about, written in the
same transaction as the change (``events.services``), never for one that rolled back, and
announced once the transaction commits (``events.signals.events_committed``).

What the balance events (``person.balance.changed``) say, and how exactly:

- A change to one person (a card's or e-voucher's transition) is diagnosed before and after
  with ``inquiry.diagnosis.diagnose``, the function every balance answer comes from
  (``inquiry.balance_events``, listening to ``events.balance.person_balance_watch_started``):
  exact for every channel. The institution channel is its answer for the card presented.
- A crediting run, an upload and a city's switches change many persons at once. Their events are
  written set-based, one ``INSERT ... SELECT`` per chunk (per change of switches), by
  ``uploads.balance_sql``, which states the diagnosis' reason rules in SQL with what the job
  changed as expressions (the balance before a first crediting, the snapshot before the upload,
  the switches before the change); tests hold it to the diagnosis. A person gets an event when
  the reason codes, and so visibility or the primary reason, change on some channel.
- Not covered: the platform's momentary load (PLATFORM_BUSY from traffic, which comes and goes
  by the second; the city's forced busy switch is covered), the reasons' texts and expected dates
  (a summary holds codes, not wording), and the passage of time alone (a resident abolition date
  reached, a face-authentication lock running out): no change is made then, so nothing records it.
  Crediting runs record events for first creditings only: a later crediting changes an amount,
  not an answer's reasons, and is told by ``crediting.posted``.

Events are kept for ``EVENTS_RETENTION_DAYS`` (``events.tasks``); ``EVENTS_ENABLED`` turns
recording off (the crediting benchmark compares both).
"""
