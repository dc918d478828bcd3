import pytest

from tests.support.portal_process import PortalProcess


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    process = PortalProcess(tmp_path_factory.mktemp("portal")).start()
    yield process
    process.stop()
