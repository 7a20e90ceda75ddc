"""Recorded example messages, one pair per transaction, from the demo world (``make demo``:
the terminal hz-hospital of H330100001). ``fsi/tests/test_docs.py`` sends each request again
and holds the answer to the recorded one's shape, so these cannot drift from the code."""

EXAMPLES: dict[str, dict] = {}
