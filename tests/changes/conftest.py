"""Shared helpers for the change renderer tests: the simulator's demo mesh as the cluster."""
from __future__ import annotations

import pytest

from apps.simulator.gateway import SimulatorGateway
from apps.simulator.mesh import SimulatedMesh
from tests.simulator.helpers import FakeClock

from .flow_helpers import approver2, eager_tasks  # noqa: F401  (the flow tests' fixtures)
from .test_kube_apiserver import bookinfo, bookinfo_configured  # noqa: F401  (the flow's kube tests)


@pytest.fixture
def clock():
    """Moved by the tests: objects created after ``advance`` are younger, traffic accrues."""
    return FakeClock(1_800_000_000.0)


@pytest.fixture
def mesh(clock):
    """A fresh demo mesh (Bookinfo, helloworld, gRPC)."""
    return SimulatedMesh("demo", clock=clock)


@pytest.fixture
def gateway(mesh):
    return SimulatorGateway(mesh)


@pytest.fixture
def inventory(mesh):
    return mesh.inventory()
