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
import zlib
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import Any, cast

import numpy as np
import orjson

from apps.core.stored import FormatError
from apps.graphs.telemetry.columns import SHAPE_FORMAT, ColumnarTraffic, TrafficLayout
from apps.graphs.telemetry.mesh_traffic import (
    BUCKETS,
    EDGE_KEY,
    STORED_METRICS,
    CapturedTraffic,
    MeshTraffic,
    _bound_order,
)

JSON_ZLIB = "json+zlib"
FLOATS = "f64-xor-shuffle+zlib"
DELTA_FLOATS = "f64-kf-xor+zlib"
LEVEL = 6


@dataclass(frozen=True)
class Packed:
    """A part to store: its address, encoding and size before compression. ``data``, the bytes stored,
    is compressed on first use: a part already stored under its address (the inventory, config and
    traffic shape of most snapshots) is not compressed again for nothing."""

    sha256: str
    encoding: str
    raw_size: int
    payload: bytes = field(repr=False)  # what zlib compresses

    @cached_property
    def data(self) -> bytes:
        return zlib.compress(self.payload, LEVEL)


def canonical(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def pack_json(doc: Any) -> Packed:
    raw = canonical(doc)
    return Packed(hashlib.sha256(raw).hexdigest(), JSON_ZLIB, len(raw), raw)


def unpack_json(data: bytes) -> Any:
    try:
        return orjson.loads(zlib.decompress(data))
    except (zlib.error, orjson.JSONDecodeError) as exc:
        raise FormatError(f"a stored snapshot part cannot be read: {exc}") from exc


_U64 = np.dtype("<u8")  # a rate's bit pattern, as stored: little-endian


def _as_u64(ints: Any) -> np.ndarray:
    """uint64 bit patterns (an ``array("Q")`` as earlier versions returned, or an ndarray), not copied."""
    if isinstance(ints, np.ndarray):
        return ints.astype(_U64, copy=False)
    return np.frombuffer(ints, dtype=np.uint64).astype(_U64, copy=False)


def _to_array(ints: np.ndarray) -> array:
    out = array("Q")
    out.frombytes(ints.astype(np.uint64, copy=False).tobytes())  # (native order: what array("Q") holds)
    return out


def _quantized(values: Any, bits: int) -> np.ndarray:
    """``quantize`` as an ndarray of little-endian uint64 (a copy: the caller may change it)."""
    ints = np.array(values, dtype="<f8").view(_U64)
    drop = 52 - max(0, min(52, bits))
    if drop and len(ints):
        half, keep = np.uint64(1 << (drop - 1)), np.uint64(~((1 << drop) - 1) & 0xFFFFFFFFFFFFFFFF)
        # finite: round the mantissa (a carry moves the exponent: fine; it cannot overflow 64 bits, since
        # only an exponent of all ones, not finite, is that close to 2**64); NaN and the infinities kept
        finite = (ints & np.uint64(0x7FF << 52)) != np.uint64(0x7FF << 52)
        ints = np.where(finite, (ints + half) & keep, ints).astype(_U64, copy=False)
    return ints


def quantize(values: Any, bits: int) -> array:
    """The values as little-endian float64 bit patterns (array of uint64), each mantissa rounded to its
    ``bits`` most significant bits (52: unchanged). NaN and the infinities are kept as they are."""
    return _to_array(_quantized(values, bits))


def float_array(ints: Any) -> np.ndarray:
    """Quantized rates (their float64 bits) as a float64 array."""
    return _as_u64(ints).view("<f8")


def _floats(ints: Any) -> list[float]:
    return float_array(ints).tolist()


def _shuffle(ints: np.ndarray) -> bytes:
    """The 8 bytes of every value split into 8 planes (all first bytes, then all second bytes ...)."""
    return np.ascontiguousarray(_as_u64(ints).view(np.uint8).reshape(-1, 8).T).tobytes()


def _unzlib_unshuffle(data: bytes) -> np.ndarray:
    try:
        shuffled = zlib.decompress(data)
    except zlib.error as exc:
        raise FormatError(f"stored traffic rates cannot be read: {exc}") from exc
    if len(shuffled) % 8:
        raise FormatError("stored traffic rates are truncated")
    planes = np.frombuffer(shuffled, dtype=np.uint8).reshape(8, -1)
    return np.ascontiguousarray(planes.T).view(_U64).reshape(-1)


def pack_floats(values: Any, *, bits: int = 52, base: Any = None) -> Packed:
    """The rates, quantized to ``bits`` mantissa bits; with ``base`` (another window's quantized rates of
    the same shape, a key frame) XOR-ed with it: rates that moved little leave mostly zero bits."""
    ints = _quantized(values, bits)
    sha = hashlib.sha256(ints.tobytes()).hexdigest()  # the address: the (quantized) values themselves
    if base is not None and len(base) == len(ints):
        return Packed(sha, DELTA_FLOATS, len(ints) * 8, _shuffle(ints ^ _as_u64(base)))
    out = ints.copy()
    out[1:] ^= ints[:-1]  # each value XOR-ed with the one before it (the first with 0)
    return Packed(sha, FLOATS, len(ints) * 8, _shuffle(out))


def unpack_bits(data: bytes, encoding: str = FLOATS, base: Any = None) -> array:
    """The quantized rates (uint64 bit patterns) of a part; a delta part needs its key frame's."""
    ints = _unzlib_unshuffle(data)
    if encoding == DELTA_FLOATS:
        if base is None or len(base) != len(ints):
            raise FormatError("stored traffic rates: the key frame they are relative to is missing")
        return _to_array(ints ^ _as_u64(base))
    if encoding != FLOATS:
        raise FormatError(f"stored traffic rates: unknown encoding {encoding!r}")
    return _to_array(np.bitwise_xor.accumulate(ints) if len(ints) else ints)


def unpack_floats(data: bytes, encoding: str = FLOATS, base: array | None = None) -> list[float]:
    return _floats(unpack_bits(data, encoding, base))


# --- traffic: shape + values -----------------------------------------------------------------

def _getter(keys: tuple[str, ...]) -> Callable[[dict[str, str]], tuple[str, ...]]:
    """labels -> the values of ``keys`` as a tuple, "" for a label the series lacks (Prometheus leaves
    empty labels out). The common case, every label there, is one C call."""
    if not keys:
        return lambda labels: ()
    if len(keys) == 1:
        (key,) = keys
        return lambda labels: (labels.get(key, ""),)
    get = itemgetter(*keys)

    def values(labels: dict[str, str]) -> tuple[str, ...]:
        try:
            return get(labels)
        except KeyError:
            return tuple(labels.get(k, "") for k in keys)

    return values


def split_traffic(traffic: MeshTraffic) -> tuple[dict[str, Any], list[float]]:
    """(shape, values) of a window (see the module doc); ``join_traffic`` puts them back together.
    The shape is canonical (the edge table and rows in ``MeshTraffic.to_dict``'s order), so equal
    topologies give equal bytes and one content address."""
    edge_of = _getter(EDGE_KEY)
    edges: set[tuple[str, ...]] = set()
    keyed: dict[str, list[tuple[tuple[str, ...], tuple[str, ...], float]]] = {}
    if isinstance(traffic, CapturedTraffic):  # read in columns: the label values are there already
        n = len(EDGE_KEY)
        for metric in sorted(traffic.columns):
            keys, column = traffic.columns[metric]
            keyed[metric] = rows = [(key[:n], key[n:], value) for key, value in zip(keys, column, strict=True)]
            edges.update(edge for edge, _, _ in rows)
    else:
        for metric in sorted(traffic.series):
            extra_of = _getter(STORED_METRICS[metric][1])
            keyed[metric] = rows = [(edge_of(row.labels), extra_of(row.labels), row.value)
                                    for row in traffic.series[metric]]
            edges.update(edge for edge, _, _ in rows)
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
            empty: list[float | None] = [None] * len(bounds)
            for edge, (le,), value in rows:
                i = index[edge]
                found = per_edge.get(i)
                if found is None:
                    found = per_edge[i] = empty.copy()
                found[at[le]] = value
            masks = []
            for i, rates in sorted(per_edge.items()):
                if None in rates:
                    masks.append([i, "".join("0" if r is None else "1" for r in rates)])
                    values.extend(r for r in rates if r is not None)
                else:
                    masks.append([i, "1" * len(rates)])
                    values.extend(cast(list[float], rates))
            metrics[metric] = {"labels": labels, "bounds": bounds, "rows": masks}
        else:
            encoded = [(index[edge], extra, value) for edge, extra, value in rows]
            encoded.sort(key=_row_key)
            if len({(i, extra) for i, extra, _ in encoded}) != len(encoded):
                # rows with equal labels (not from one Prometheus answer): by value too, NaN last
                encoded.sort(key=lambda r: (r[0], r[1], _value_order(r[2])))
            metrics[metric] = {"labels": labels, "keys": [[i, *extra] for i, extra, _ in encoded]}
            values.extend(v for _, _, v in encoded)
    shape = {"format": SHAPE_FORMAT, "version": 1, "edge_labels": list(EDGE_KEY), "edges": [list(e) for e in table],
             "metrics": metrics}
    return shape, values


_row_key = itemgetter(0, 1)


def _value_order(v: float) -> tuple[int, float]:
    return (1, 0.0) if v != v else (0, v)  # NaN last, as a sort of encoded values never compares them


def join_traffic(shape: Any, values: list[float], *, window: int, query_time: float) -> MeshTraffic:
    """The window back from its shape and rates (FormatError, naming what, for data that does not fit).
    Kept in columns (``ColumnarTraffic``); a reader that decodes many windows of one shape prepares
    the shape once (``TrafficLayout``) and calls ``ColumnarTraffic`` itself."""
    return ColumnarTraffic(TrafficLayout(shape), values, window=window, query_time=query_time)
