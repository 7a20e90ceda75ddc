"""Provisioning: the flows that create records across apps (a city with its accounts and benefit
policy, an enrolment with its e-voucher and personal account, an institution with its account).
It sits above the records it creates; the records' own apps know nothing of it."""
