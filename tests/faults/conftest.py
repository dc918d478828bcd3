"""Fixtures of the fault tests (tests/faults/support.py has the helpers)."""
from __future__ import annotations

from tests.changes.test_kube_apiserver import bookinfo_configured  # noqa: F401  (Bookinfo on the real API server)
