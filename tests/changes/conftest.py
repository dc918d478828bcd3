"""Shared helpers for the change renderer tests: the simulator's demo mesh as the cluster."""
from __future__ import annotations

import pytest

from apps.simulator.gateway import SimulatorGateway
from apps.simulator.mesh import SimulatedMesh


@pytest.fixture
def mesh():
    """A fresh demo mesh (Bookinfo, helloworld, gRPC) on a fixed clock."""
    return SimulatedMesh("demo", clock=lambda: 1_800_000_000.0)


@pytest.fixture
def gateway(mesh):
    return SimulatorGateway(mesh)


@pytest.fixture
def inventory(mesh):
    return mesh.inventory()
