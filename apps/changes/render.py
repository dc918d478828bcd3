"""The renderer's front door: a person's input (a dict from the API or a form) -> a RenderedChange.

    rendered = render_change({"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
                              "weights": {"v1": 0, "v2": 80, "v3": 20}}, inventory)

Raises ``ChangeInvalid`` (``.errors``: field -> messages) for input that cannot be
rendered. Pure: reads only ``inventory`` (``ClusterGateway.inventory()``).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.clusters.inventory import Inventory

from .errors import ChangeInvalid
from .kinds import CHANGE_KINDS, ChangeKind
from .rendered import RenderedChange


def change_kind(data: Any) -> ChangeKind:
    kind = data.get("kind") if isinstance(data, Mapping) else None
    if kind not in CHANGE_KINDS:
        raise ChangeInvalid({"kind": [f"The kind of change must be one of {', '.join(CHANGE_KINDS)}, not {kind!r}."]})
    return CHANGE_KINDS[kind]


def render_change(data: Mapping[str, Any], inventory: Inventory, *,
                  change_id: str | int | None = None) -> RenderedChange:
    """Validate ``data`` against ``inventory`` and render its exact writes.

    ``change_id`` fills Meshdeck's change-id annotation; without it the annotation
    holds ``managed.CHANGE_ID_PLACEHOLDER`` (``RenderedChange.with_change_id`` fills it later).
    """
    kind = change_kind(data)
    params = kind.parse(data, inventory)
    return kind.render(params, inventory, None if change_id is None else str(change_id))
