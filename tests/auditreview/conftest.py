import pytest

from tests.support.services import require_postgres


@pytest.fixture
def pg(db):
    """These acceptance tests run on the real PostgreSQL (CI sets DATABASE_URL)."""
    require_postgres()
