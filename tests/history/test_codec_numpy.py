"""The array (numpy) codec writes and reads exactly what the element-by-element codec before it did.

The reference functions below are that earlier codec (pure Python, one value at a time), kept as the
definition: the rates' bit patterns, the bytes zlib is given (so the content addresses and the stored
parts are the same) and the traffic shape must be equal, whatever the values, and parts stored by the
earlier codec must still read.
"""
from __future__ import annotations

import base64
import hashlib
import math
import struct
import zlib
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core.stored import canonical_json
from apps.graphs.telemetry.mesh_traffic import BUCKETS, EDGE_KEY, STORED_METRICS, MeshTraffic, _bound_order
from apps.graphs.telemetry.query import Row
from apps.history import codec

MASK = 0xFFFFFFFFFFFFFFFF


# --- the earlier codec, one value at a time ------------------------------------------------------

def ref_quantize(values: list[float], bits: int) -> list[int]:
    ints = list(array("Q", array("d", values).tobytes()))
    drop = 52 - max(0, min(52, bits))
    if drop:
        half, keep = 1 << (drop - 1), ~((1 << drop) - 1) & MASK
        ints = [v if (v >> 52) & 0x7FF == 0x7FF else (v + half) & keep for v in ints]
    return ints


def ref_payload(ints: list[int], base: list[int] | None) -> bytes:
    """What the earlier codec handed zlib: XOR-ed (with the previous value, or the key frame), shuffled."""
    if base is not None:
        out = [v ^ b for v, b in zip(ints, base, strict=True)]
    else:
        out, prev = [], 0
        for v in ints:
            out.append(v ^ prev)
            prev = v
    raw = array("Q", out).tobytes()
    return b"".join(raw[k::8] for k in range(8))


def ref_split(traffic: MeshTraffic):
    edges: set[tuple[str, ...]] = set()
    keyed: dict[str, list] = {}
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
    metrics: dict = {}
    for metric, rows in keyed.items():
        labels = list(STORED_METRICS[metric][1])
        if metric == BUCKETS:
            bounds = sorted({extra[0] for _, extra, _ in rows}, key=_bound_order)
            at = {le: i for i, le in enumerate(bounds)}
            per_edge: dict[int, list] = {}
            for edge, (le,), value in rows:
                per_edge.setdefault(index[edge], [None] * len(bounds))[at[le]] = value
            masks = []
            for i, rates in sorted(per_edge.items()):
                masks.append([i, "".join("0" if r is None else "1" for r in rates)])
                values.extend(r for r in rates if r is not None)
            metrics[metric] = {"labels": labels, "bounds": bounds, "rows": masks}
        else:
            encoded = sorted(((index[edge], extra, value) for edge, extra, value in rows),
                             key=lambda r: (r[0], r[1], (1, 0.0) if r[2] != r[2] else (0, r[2])))
            metrics[metric] = {"labels": labels, "keys": [[i, *extra] for i, extra, _ in encoded]}
            values.extend(v for _, _, v in encoded)
    shape = {"format": "meshdeck.traffic-shape", "version": 1, "edge_labels": list(EDGE_KEY),
             "edges": [list(e) for e in table], "metrics": metrics}
    return shape, values


def bits_of(values) -> list[bytes]:
    return [struct.pack("<d", v) for v in values]


def as_float(pattern: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", pattern))[0]


# any float64 at all: every bit pattern (NaNs with payloads and signs, subnormals, -0.0, infinities)
any_double = st.integers(0, MASK).map(as_float)
doubles = st.one_of(any_double, st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0.0, -0.0, 1.0, 0.5, math.inf, -math.inf, math.nan, 5e-324,
                                     1.7976931348623157e308]))


# --- rates ---------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(values=st.lists(doubles, max_size=200), bits=st.integers(-2, 60))
def test_quantized_bit_patterns_are_the_element_by_element_ones(values, bits):
    assert list(codec.quantize(values, bits)) == ref_quantize(values, bits)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(doubles, max_size=200), bits=st.sampled_from([0, 1, 8, 20, 51, 52]))
def test_packed_rates_are_the_earlier_codecs_bytes_and_read_back(values, bits):
    packed = codec.pack_floats(values, bits=bits)
    ints = ref_quantize(values, bits)
    assert packed.encoding == codec.FLOATS and packed.raw_size == 8 * len(values)
    assert packed.sha256 == hashlib.sha256(array("Q", ints).tobytes()).hexdigest()
    assert zlib.decompress(packed.data) == ref_payload(ints, None)
    back = codec.unpack_bits(packed.data, packed.encoding)
    assert list(back) == ints
    if bits >= 52:  # bit for bit, NaN payloads and signs included
        assert bits_of(codec.unpack_floats(packed.data, packed.encoding)) == bits_of(values)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=st.integers(0, 150), bits=st.sampled_from([8, 20, 52]),
       base_as_array=st.booleans())
def test_rates_against_a_key_frame_are_the_earlier_codecs_bytes_and_read_back(data, n, bits, base_as_array):
    values = data.draw(st.lists(doubles, min_size=n, max_size=n))
    frame = data.draw(st.lists(doubles, min_size=n, max_size=n))
    base = codec.quantize(frame, bits)  # an array("Q"), as the store hands key frames over ...
    ref_base = ref_quantize(frame, bits)
    given_base = base if base_as_array else codec._as_u64(base)  # ... or an ndarray
    packed = codec.pack_floats(values, bits=bits, base=given_base)
    ints = ref_quantize(values, bits)
    assert packed.encoding == codec.DELTA_FLOATS
    assert packed.sha256 == hashlib.sha256(array("Q", ints).tobytes()).hexdigest()
    assert zlib.decompress(packed.data) == ref_payload(ints, ref_base)
    assert list(codec.unpack_bits(packed.data, packed.encoding, given_base)) == ints
    assert list(codec.unpack_bits(packed.data, packed.encoding, base)) == ints


def test_a_key_frame_of_another_length_is_not_used():
    base = codec.quantize([1.0, 2.0], 20)
    packed = codec.pack_floats([1.0, 2.0, 3.0], bits=20, base=base)
    assert packed.encoding == codec.FLOATS
    with pytest.raises(codec.FormatError):
        codec.unpack_bits(codec.pack_floats([1.0, 2.0, 3.0], bits=20, base=codec.quantize([1.0, 2.0, 3.0], 20)).data,
                          codec.DELTA_FLOATS, base)


# Stored by the codec before numpy (commit cf0dc6a): they must read back as they did.
GOLDEN_VALUES = [0.0, 1.0, 1.0, 2.5, 3.3333333333333335, -0.0, math.inf, -math.inf, math.nan, 1e-300, 5e300,
                 0.1 + 0.2, 7.25e-5, 123456.789]
GOLDEN_BASE = [0x0, 0x3FF028F600000000, 0x3FF028F600000000, 0x4004333300000000, 0x400AEEEF00000000,
               0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0x1A5A4FC00000000,
               0x7E5E29C000000000, 0x3FD3645A00000000, 0x3F13320C00000000, 0x40FE713600000000]
GOLDEN_BITS20 = [0x0, 0x3FF0000000000000, 0x3FF0000000000000, 0x4004000000000000, 0x400AAAAB00000000,
                 0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0x1A56E2000000000,
                 0x7E5DDD4C00000000, 0x3FD3333300000000, 0x3F13016500000000, 0x40FE240D00000000]
GOLDEN = {
    "full20": ("c3f7d3cef17007aedfaaea82e2c29818340d9406b6e422224b6c484c608e56f5", codec.FLOATS,
               "eJxjYCAfrF4NJBRy6sMyQLxVq4BE3uZ3RqoMHxi+8HF9YOCI/dF34C2DPUM9w4H/DQ119Y4M9QC6OBKY"),
    "delta20": ("c3f7d3cef17007aedfaaea82e2c29818340d9406b6e422224b6c484c608e56f5", codec.DELTA_FLOATS,
                "eJxjYCATfPtm7AKi7/RkZlozaGhAeKe+hBuHIhQxY2gDAGL7CEA="),
    "exact": ("3c4f062b7603453cbb1736192b5078a400ba6f24ff421570c153a54b648c464f", codec.FLOATS,
              "eJxjYGBgWL0aSERGmetdBtIMq1YBic8JC1QS4bwfP4xtN8B5hzJmbpeG8+RDKsIz4Ly8ze+MVBk+MHzh4/rAwBH7o+/AWwZ7hnqGA/8bGurqHRnqAZQ1IdE="),
}


def test_parts_stored_by_the_earlier_codec_read_back_as_they_did():
    base = array("Q", GOLDEN_BASE)
    for name, (sha, encoding, data) in GOLDEN.items():
        raw = base64.b64decode(data)
        ints = list(codec.unpack_bits(raw, encoding, base if encoding == codec.DELTA_FLOATS else None))
        if name == "exact":
            assert bits_of(codec._floats(array("Q", ints))) == bits_of(GOLDEN_VALUES)
        else:
            assert ints == GOLDEN_BITS20
        assert hashlib.sha256(array("Q", ints).tobytes()).hexdigest() == sha
    # and the same values are packed to the same address and zlib input today
    assert codec.pack_floats(GOLDEN_VALUES, bits=20).sha256 == GOLDEN["full20"][0]
    assert codec.pack_floats(GOLDEN_VALUES).sha256 == GOLDEN["exact"][0]
    again = codec.pack_floats(GOLDEN_VALUES, bits=20, base=base)
    assert zlib.decompress(again.data) == zlib.decompress(base64.b64decode(GOLDEN["delta20"][2]))


def test_no_rates():
    packed = codec.pack_floats([], bits=20)
    assert list(codec.unpack_bits(packed.data, packed.encoding)) == []
    assert codec.unpack_floats(packed.data) == []


# --- traffic: shape + values ---------------------------------------------------------------------

label_value = st.sampled_from(["", "a", "b", "unknown", "ns-1", "reviews-v2"])


@st.composite
def windows(draw) -> MeshTraffic:
    """Random windows: labels often missing (as Prometheus leaves empty ones out), rows in any order, and
    sometimes rows with equal labels (not from one answer, but MeshTraffic allows them)."""
    edge_pool = draw(st.lists(st.tuples(*[label_value] * len(EDGE_KEY)), min_size=1, max_size=6))
    series: dict[str, list[Row]] = {}
    for metric, (_, extra) in STORED_METRICS.items():
        if not draw(st.booleans()):
            continue
        rows = []
        for _ in range(draw(st.integers(0, 12))):
            edge = draw(st.sampled_from(edge_pool))
            if metric == BUCKETS:
                values = (draw(st.sampled_from(["0.5", "1", "10", "+Inf", "25", "x"])),)
            else:
                values = tuple(draw(label_value) for _ in extra)
            labels = {k: v for k, v in zip(EDGE_KEY + extra, edge + values, strict=True) if v != ""}
            rows.append(Row(labels, draw(doubles)))
        if metric == BUCKETS:  # one rate per (edge, bound), as one answer has
            rows = list({tuple(sorted(r.labels.items())): r for r in rows}.values())
        series[metric] = rows
    return MeshTraffic(window=60, query_time=1_700_000_000.0, series=series)


@settings(max_examples=300, deadline=None)
@given(traffic=windows())
def test_split_traffic_is_the_earlier_split_and_joins_back(traffic):
    shape, values = codec.split_traffic(traffic)
    ref_shape, ref_values = ref_split(traffic)
    assert canonical_json(shape) == canonical_json(ref_shape)
    assert bits_of(values) == bits_of(ref_values)
    if any(len({tuple(sorted(r.labels.items())) for r in rows}) != len(rows) for rows in traffic.series.values()):
        return  # rows with equal labels: to_dict orders them by value with NaN anywhere, so no comparison
    back = codec.join_traffic(codec.unpack_json(codec.pack_json(shape).data),
                              codec.unpack_floats(codec.pack_floats(values).data), window=60,
                              query_time=1_700_000_000.0)
    assert canonical_json(back.to_dict()) == canonical_json(traffic.to_dict())
