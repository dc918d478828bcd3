"""Shared helpers for the change renderer tests: the simulator's demo mesh as the cluster."""
from __future__ import annotations

import pytest

from apps.simulator.gateway import SimulatorGateway
from apps.simulator.mesh import SimulatedMesh


class Clock:
    """A clock the test moves: objects created after ``advance`` are younger, traffic accrues."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


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
