"""How snapshot parts are written: canonical bytes, a sha256 address, zlib.

Two encodings:

``json+zlib``
    A JSON document in canonical form (sorted keys, no spaces), zlib-compressed.
    The sha256 is over the canonical bytes, so equal content has one address.

``f64-xor-shuffle+zlib`` (traffic rates)
    A flat list of float64: each value XOR-ed with the one before it (as 64-bit
    integers: equal neighbours, as in cumulative histogram buckets, become
    zeros), the 8 bytes of every value split into 8 planes (byte shuffle: the
    sign/exponent bytes of similar rates line up), then zlib. Lossless: the
    rates read back bit for bit.

A window's traffic (``MeshTraffic``) is split in two parts: its *shape* (the
edge table, each metric's row keys, histogram bounds and which bounds each row
has) and its *values* (the rates, in the order the shape lists them). The shape
changes only with the topology, so consecutive snapshots share it; only the
values are stored anew.
"""
from __future__ import annotations

import hashlib
import math
import sys
import zlib
from array import array
from dataclasses import dataclass
from typing import Any

import orjson

from apps.core.stored import FormatError, decode_float, encode_float
from apps.graphs.telemetry.mesh_traffic import BUCKETS, MESH_TRAFFIC_FORMAT, MESH_TRAFFIC_VERSION, MeshTraffic

JSON_ZLIB = "json+zlib"
FLOATS = "f64-xor-shuffle+zlib"
SHAPE_FORMAT = "meshdeck.traffic-shape"
LEVEL = 6


@dataclass(frozen=True)
class Packed:
    sha256: str
    encoding: str
    data: bytes
    raw_size: int


def canonical(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def pack_json(doc: Any) -> Packed:
    raw = canonical(doc)
    return Packed(hashlib.sha256(raw).hexdigest(), JSON_ZLIB, zlib.compress(raw, LEVEL), len(raw))


def unpack_json(data: bytes) -> Any:
    try:
        return orjson.loads(zlib.decompress(data))
    except (zlib.error, orjson.JSONDecodeError) as exc:
        raise FormatError(f"a stored snapshot part cannot be read: {exc}") from exc


def pack_floats(values: list[float]) -> Packed:
    doubles = array("d", values)
    if sys.byteorder != "little":
        doubles.byteswap()
    ints = array("Q", doubles.tobytes())
    xored = array("Q", [0]) * len(ints)
    prev = 0
    for i, v in enumerate(ints):
        xored[i] = v ^ prev
        prev = v
    raw = xored.tobytes()
    shuffled = b"".join(raw[k::8] for k in range(8))
    # the address is over the values themselves (little-endian float64), not their encoding
    return Packed(hashlib.sha256(doubles.tobytes()).hexdigest(), FLOATS, zlib.compress(shuffled, LEVEL),
                  len(raw))


def unpack_floats(data: bytes) -> list[float]:
    try:
        shuffled = zlib.decompress(data)
    except zlib.error as exc:
        raise FormatError(f"stored traffic rates cannot be read: {exc}") from exc
    if len(shuffled) % 8:
        raise FormatError("stored traffic rates are truncated")
    n = len(shuffled) // 8
    raw = bytearray(len(shuffled))
    for k in range(8):
        raw[k::8] = shuffled[k * n:(k + 1) * n]
    ints = array("Q", bytes(raw))
    prev = 0
    for i, v in enumerate(ints):
        prev ^= v
        ints[i] = prev
    doubles = array("d", ints.tobytes())
    if sys.byteorder != "little":
        doubles.byteswap()
    return doubles.tolist()


# --- traffic: shape + values -----------------------------------------------------------------

def split_traffic(traffic: MeshTraffic) -> tuple[dict[str, Any], list[float]]:
    """(shape, values) of a window (see the module doc); ``join_traffic`` puts them back together."""
    doc = traffic.to_dict()
    values: list[float] = []
    metrics: dict[str, Any] = {}
    for metric in sorted(doc["metrics"]):
        part = doc["metrics"][metric]
        if metric == BUCKETS:
            masks = []
            for index, rates in part["rows"]:
                masks.append([index, "".join("0" if r is None else "1" for r in rates)])
                values.extend(decode_float(r, metric) for r in rates if r is not None)
            metrics[metric] = {"labels": part["labels"], "bounds": part["bounds"], "rows": masks}
        else:
            metrics[metric] = {"labels": part["labels"], "keys": [row[:-1] for row in part["rows"]]}
            values.extend(decode_float(row[-1], metric) for row in part["rows"])
    shape = {"format": SHAPE_FORMAT, "version": 1, "edge_labels": doc["edge_labels"], "edges": doc["edges"],
             "metrics": metrics}
    return shape, values


def join_traffic(shape: Any, values: list[float], *, window: int, query_time: float) -> MeshTraffic:
    if not isinstance(shape, dict) or shape.get("format") != SHAPE_FORMAT or shape.get("version") != 1:
        raise FormatError("stored traffic shape: not a meshdeck.traffic-shape version 1 document")
    it = iter(values)
    metrics: dict[str, Any] = {}
    try:
        for metric, part in shape["metrics"].items():
            if metric == BUCKETS:
                rows = [[index, [encode_float(next(it)) if bit == "1" else None for bit in mask]]
                        for index, mask in part["rows"]]
                metrics[metric] = {"labels": part["labels"], "bounds": part["bounds"], "rows": rows}
            else:
                metrics[metric] = {"labels": part["labels"],
                                   "rows": [[*key, encode_float(next(it))] for key in part["keys"]]}
    except StopIteration:
        raise FormatError("stored traffic: fewer rates than the shape lists") from None
    if next(it, None) is not None:
        raise FormatError("stored traffic: more rates than the shape lists")
    return MeshTraffic.from_dict({
        "format": MESH_TRAFFIC_FORMAT, "version": MESH_TRAFFIC_VERSION, "window": window,
        "query_time": encode_float(query_time), "edge_labels": shape["edge_labels"], "edges": shape["edges"],
        "metrics": metrics,
    })


def is_finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))
