"""How snapshot parts are written: canonical bytes, a sha256 address, zlib.

Two encodings:

``json+zlib``
    A JSON document in canonical form (sorted keys, no spaces), zlib-compressed.
    The sha256 is over the canonical bytes, so equal content has one address.

``f64-xor-shuffle+zlib`` (traffic rates; ``f64-kf-xor+zlib`` against a key frame)
    A flat list of float64, each mantissa rounded to MESHDECK_SNAPSHOT_RATE_BITS
    bits (52: bit for bit; the default 20 keeps one part in a million), each
    value XOR-ed with the one before it (as 64-bit integers: equal neighbours,
    as in cumulative histogram buckets, become zeros) or, in a key-frame part,
    with the same rate of a key frame (an earlier window of the same shape:
    rates that barely moved leave almost only zero bits), the 8 bytes of every
    value split into 8 planes (byte shuffle), then zlib.

A window's traffic (``MeshTraffic``) is split in two parts: its *shape* (the
edge table, each metric's row keys, histogram bounds and which bounds each row
has) and its *values* (the rates, in the order the shape lists them). The shape
changes only with the topology, so consecutive snapshots share it; only the
values are stored anew.
"""
from __future__ import annotations

import hashlib
import sys
import zlib
from array import array
from dataclasses import dataclass
from typing import Any

import orjson

from apps.core.stored import FormatError
from apps.graphs.telemetry.columns import SHAPE_FORMAT, ColumnarTraffic, TrafficLayout
from apps.graphs.telemetry.mesh_traffic import BUCKETS, EDGE_KEY, STORED_METRICS, MeshTraffic, _bound_order

JSON_ZLIB = "json+zlib"
FLOATS = "f64-xor-shuffle+zlib"
DELTA_FLOATS = "f64-kf-xor+zlib"
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


def quantize(values: list[float], bits: int) -> array:
    """The values as little-endian float64 bit patterns (array of uint64), each mantissa rounded to its
    ``bits`` most significant bits (52: unchanged). NaN and the infinities are kept as they are."""
    doubles = array("d", values)
    if sys.byteorder != "little":
        doubles.byteswap()
    ints = array("Q", doubles.tobytes())
    drop = 52 - max(0, min(52, bits))
    if drop:
        half, keep = 1 << (drop - 1), ~((1 << drop) - 1) & 0xFFFFFFFFFFFFFFFF
        for i, v in enumerate(ints):
            if (v >> 52) & 0x7FF != 0x7FF:  # finite: round the mantissa (a carry moves the exponent: fine)
                ints[i] = (v + half) & keep
    return ints


def _floats(ints: array) -> list[float]:
    doubles = array("d", ints.tobytes())
    if sys.byteorder != "little":
        doubles.byteswap()
    return doubles.tolist()


def _shuffle_zlib(ints: array) -> bytes:
    raw = ints.tobytes()
    return zlib.compress(b"".join(raw[k::8] for k in range(8)), LEVEL)


def _unzlib_unshuffle(data: bytes) -> array:
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
    return array("Q", bytes(raw))


def pack_floats(values: list[float], *, bits: int = 52, base: array | None = None) -> Packed:
    """The rates, quantized to ``bits`` mantissa bits; with ``base`` (another window's quantized rates of
    the same shape, a key frame) XOR-ed with it: rates that moved little leave mostly zero bits."""
    ints = quantize(values, bits)
    sha = hashlib.sha256(ints.tobytes()).hexdigest()  # the address: the (quantized) values themselves
    out = array("Q", [0]) * len(ints)
    if base is not None and len(base) == len(ints):
        for i, v in enumerate(ints):
            out[i] = v ^ base[i]
        return Packed(sha, DELTA_FLOATS, _shuffle_zlib(out), len(ints) * 8)
    prev = 0
    for i, v in enumerate(ints):
        out[i] = v ^ prev
        prev = v
    return Packed(sha, FLOATS, _shuffle_zlib(out), len(ints) * 8)


def unpack_bits(data: bytes, encoding: str = FLOATS, base: array | None = None) -> array:
    """The quantized rates (uint64 bit patterns) of a part; a delta part needs its key frame's."""
    ints = _unzlib_unshuffle(data)
    if encoding == DELTA_FLOATS:
        if base is None or len(base) != len(ints):
            raise FormatError("stored traffic rates: the key frame they are relative to is missing")
        for i, v in enumerate(ints):
            ints[i] = v ^ base[i]
        return ints
    if encoding != FLOATS:
        raise FormatError(f"stored traffic rates: unknown encoding {encoding!r}")
    prev = 0
    for i, v in enumerate(ints):
        prev ^= v
        ints[i] = prev
    return ints


def unpack_floats(data: bytes, encoding: str = FLOATS, base: array | None = None) -> list[float]:
    return _floats(unpack_bits(data, encoding, base))


# --- traffic: shape + values -----------------------------------------------------------------

def split_traffic(traffic: MeshTraffic) -> tuple[dict[str, Any], list[float]]:
    """(shape, values) of a window (see the module doc); ``join_traffic`` puts them back together.
    The shape is canonical (the edge table and rows in ``MeshTraffic.to_dict``'s order), so equal
    topologies give equal bytes and one content address."""
    edges: set[tuple[str, ...]] = set()
    keyed: dict[str, list[tuple[tuple[str, ...], tuple[str, ...], float]]] = {}
    for metric in sorted(traffic.series):
        extra = STORED_METRICS[metric][1]
        rows = keyed[metric] = []
        for row in traffic.series[metric]:
            get = row.labels.get
            edge = tuple(get(k, "") for k in EDGE_KEY)
            edges.add(edge)
            rows.append((edge, tuple(get(k, "") for k in extra), row.value))
    table = sorted(edges)
    index = {edge: i for i, edge in enumerate(table)}
    values: list[float] = []
    metrics: dict[str, Any] = {}
    for metric, rows in keyed.items():
        labels = list(STORED_METRICS[metric][1])
        if metric == BUCKETS:
            bounds = sorted({extra[0] for _, extra, _ in rows}, key=_bound_order)
            at = {le: i for i, le in enumerate(bounds)}
            per_edge: dict[int, list[float | None]] = {}
            for edge, (le,), value in rows:
                per_edge.setdefault(index[edge], [None] * len(bounds))[at[le]] = value
            masks = []
            for i, rates in sorted(per_edge.items()):
                masks.append([i, "".join("0" if r is None else "1" for r in rates)])
                values.extend(r for r in rates if r is not None)
            metrics[metric] = {"labels": labels, "bounds": bounds, "rows": masks}
        else:
            encoded = sorted(((index[edge], extra, value) for edge, extra, value in rows),
                             key=lambda r: (r[0], r[1], _value_order(r[2])))
            metrics[metric] = {"labels": labels, "keys": [[i, *extra] for i, extra, _ in encoded]}
            values.extend(v for _, _, v in encoded)
    shape = {"format": SHAPE_FORMAT, "version": 1, "edge_labels": list(EDGE_KEY), "edges": [list(e) for e in table],
             "metrics": metrics}
    return shape, values


def _value_order(v: float) -> tuple[int, float]:
    return (1, 0.0) if v != v else (0, v)  # NaN last, as a sort of encoded values never compares them


def join_traffic(shape: Any, values: list[float], *, window: int, query_time: float) -> MeshTraffic:
    """The window back from its shape and rates (FormatError, naming what, for data that does not fit).
    Kept in columns (``ColumnarTraffic``); a reader that decodes many windows of one shape prepares
    the shape once (``TrafficLayout``) and calls ``ColumnarTraffic`` itself."""
    return ColumnarTraffic(TrafficLayout(shape), values, window=window, query_time=query_time)
