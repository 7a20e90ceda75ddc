"""Recorded example messages, one pair per transaction, from the demo world (``make demo``:
the terminal hz-hospital of H330100001, the person of BALANCE_VISIBLE presenting their card),
kept in ``examples.json``. ``fsi/tests/test_docs.py`` records them again and holds them to the
recorded ones' shape, so these cannot drift from the code; ``fsi/tests/examples_recording.py``
records them."""

import json
from pathlib import Path

EXAMPLES: dict[str, dict] = json.loads(
    (Path(__file__).with_name("examples.json")).read_text(encoding="utf-8")
)
