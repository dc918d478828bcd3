"""The topologies a simulated cluster can have, as the simulator registers them.

The clusters app never imports the simulator (CONTRACTS.md): the simulator
calls ``register_simulator_topologies`` from its AppConfig.ready(), and the
model (callable ``choices``), forms, serializers and services of this app
validate against what was registered.
"""
from __future__ import annotations

from collections.abc import Iterable

_topologies: dict[str, str] = {}  # value -> label, in the order registered


def register_simulator_topologies(choices: Iterable[tuple[str, str]]) -> None:
    for value, label in choices:
        _topologies[value] = label


def simulator_topology_choices() -> list[tuple[str, str]]:
    return list(_topologies.items())


def simulator_topology_error(value: str) -> str | None:
    """Why ``value`` is not a topology a simulated cluster can have, or None."""
    if value in _topologies:
        return None
    if not _topologies:
        return "No mesh simulator is installed, so there are no simulated topologies."
    return f"Unknown simulator topology {value!r}; choose one of: {', '.join(_topologies)}."

