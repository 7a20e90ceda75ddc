"""Fixtures shared by every app's tests. The database is always PostgreSQL (see tests/bootstrap.py)."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache (Redis in tests) outlives each test's rolled-back transaction: start clean."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
