import pytest

from tests.support.portal_process import PortalProcess


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    process = PortalProcess(tmp_path_factory.mktemp("portal")).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def snapshot_portal(tmp_path_factory):
    """A portal of the test module's own that keeps history fast enough for a test to watch:
    a snapshot every 3 s of 10 s of traffic."""
    process = PortalProcess(tmp_path_factory.mktemp("portal-snapshots"))
    process.env.update(MESHDECK_SNAPSHOT_INTERVAL="3", MESHDECK_SNAPSHOT_WINDOW="10")
    process.start()
    yield process
    process.stop()
