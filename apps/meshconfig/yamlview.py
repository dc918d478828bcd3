"""YAML for an Istio object, and the line a validation path points at."""
from __future__ import annotations

import re
from typing import Any

import yaml

from apps.clusters.inventory import IstioObject

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # never emit &id001 anchors
        return True


def object_manifest(obj: IstioObject) -> dict[str, Any]:
    manifest = obj.to_manifest()
    if obj.resource_version:
        manifest["metadata"]["resourceVersion"] = obj.resource_version
    return manifest


def object_yaml(obj: IstioObject) -> str:
    return yaml.dump(object_manifest(obj), Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def parse_path(path: str) -> list[str | int]:
    return [int(i) if i else k for k, i in _STEP.findall(path or "")]


def line_of_path(text: str, path: str) -> int | None:
    """1-based line of the node a dotted path (``spec.http[0].route``) names, or None."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for step in parse_path(path):
        if isinstance(step, int):
            if not isinstance(node, yaml.SequenceNode) or step >= len(node.value):
                return line
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            if not isinstance(node, yaml.MappingNode):
                return line
            for key, value in node.value:
                if key.value == step:
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
    return line
