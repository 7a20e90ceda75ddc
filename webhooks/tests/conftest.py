import pytest

# A worker of its own process, which a test may kill (tests/test_real_concurrency.py).
from tests.test_real_concurrency import prefork_worker  # noqa: F401
from webhooks.tests.receiver import start_receiver


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    receiver.release.set()
    server.shutdown()
    server.server_close()
