import pytest

from apps.simulator.gateway import SimulatorGateway
from apps.simulator.mesh import SimulatedMesh

from .helpers import FakeClock


@pytest.fixture
def env():
    """(clock, mesh, gateway): Bookinfo on a fake clock, read and changed through the portal's gateway."""
    clock = FakeClock()
    mesh = SimulatedMesh("bookinfo", clock=clock)
    return clock, mesh, SimulatorGateway(mesh)
