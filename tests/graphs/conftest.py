"""Graph test fixtures: the demo cluster served by a hand-made Bookinfo mesh (no simulator needed)."""
from __future__ import annotations

import pytest

from .fakes import FakeMesh, bookinfo_inventory, bookinfo_samples


class FakeGateway:
    def __init__(self, mesh):
        self.mesh = mesh

    def inventory(self, namespaces=None):
        return self.mesh.inventory()

    def list_namespaces(self):
        return self.mesh.inventory().namespaces


@pytest.fixture
def fake_mesh(monkeypatch):
    """Point the demo cluster's gateway and simulator telemetry at the hand-made Bookinfo series."""
    from apps.clusters import gateways
    from apps.graphs.telemetry import factory

    mesh = FakeMesh(bookinfo_samples(), bookinfo_inventory())
    monkeypatch.setattr(gateways, "gateway_for", lambda cluster: FakeGateway(mesh))
    monkeypatch.setattr(factory, "simulator_mesh", lambda cluster: mesh)
    return mesh
