"""The stored forms read back exactly: rates bit for bit, a window's traffic row for row."""
from __future__ import annotations

import math
import struct
import time

import pytest

from apps.core.stored import canonical_json
from apps.graphs.telemetry.factory import telemetry_for
from apps.graphs.telemetry.mesh_traffic import capture_traffic
from apps.history import codec


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_rates_read_back_bit_for_bit_including_nan_and_infinities():
    values = [0.0, 1.0, 1.0, 1.0, 3.3333333333333335, -0.0, math.inf, -math.inf, math.nan, 1e-300, 5e300, 0.1 + 0.2]
    packed = codec.pack_floats(values)
    assert [bits(v) for v in codec.unpack_floats(packed.data)] == [bits(v) for v in values]


def test_equal_rates_have_one_address_and_other_rates_another():
    assert codec.pack_floats([1.0, 2.0]).sha256 == codec.pack_floats([1.0, 2.0]).sha256
    assert codec.pack_floats([1.0, 2.0]).sha256 != codec.pack_floats([1.0, 2.000001]).sha256


def test_repeated_cumulative_bucket_rates_compress_to_little():
    rows = [v for i in range(2000) for v in [0.0] * 4 + [i * 0.37] * 10]
    packed = codec.pack_floats(rows)
    assert len(packed.data) < len(rows) * 8 / 20


@pytest.mark.django_db
def test_a_windows_traffic_splits_into_shape_and_values_and_joins_back_exactly(sim_cluster):
    t = int(time.time()) - 5
    traffic = capture_traffic(telemetry_for(sim_cluster), window=60, query_time=t)
    shape, values = codec.split_traffic(traffic)
    assert shape["edges"] and values
    shape_again = codec.unpack_json(codec.pack_json(shape).data)
    rates_again = codec.unpack_floats(codec.pack_floats(values).data)
    back = codec.join_traffic(shape_again, rates_again, window=60, query_time=t)
    assert canonical_json(back.to_dict()) == canonical_json(traffic.to_dict())


def test_rates_against_a_key_frame_read_back_and_take_little_room_when_they_barely_moved():
    import random

    rng = random.Random(7)
    frame = [rng.uniform(0, 100) for _ in range(5000)]
    moved = [v * (1 + rng.uniform(-1e-7, 1e-7)) for v in frame]
    base = codec.quantize(frame, 20)
    full = codec.pack_floats(moved, bits=20)
    delta = codec.pack_floats(moved, bits=20, base=base)
    assert delta.encoding == codec.DELTA_FLOATS and delta.sha256 == full.sha256
    assert len(delta.data) < len(full.data) / 5
    back = codec.unpack_floats(delta.data, delta.encoding, base)
    assert back == codec.unpack_floats(full.data, full.encoding)
    assert all(abs(x - y) <= abs(y) * 2 ** -20 for x, y in zip(back, moved, strict=False))


def test_quantizing_keeps_nan_infinities_and_zero():
    ints = codec.quantize([0.0, math.inf, -math.inf, math.nan, 1.0], 8)
    back = codec._floats(ints)
    assert back[0] == 0.0 and back[1] == math.inf and back[2] == -math.inf and math.isnan(back[3]) and back[4] == 1.0
