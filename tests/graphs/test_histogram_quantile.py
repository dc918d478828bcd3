import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.graphs.telemetry.columns import HistogramMatrix
from apps.graphs.telemetry.evaluate import bucket_quantile


def test_interpolates_inside_the_bucket_like_prometheus():
    buckets = [(10, 50.0), (20, 100.0), (math.inf, 100.0)]
    assert bucket_quantile(0.5, buckets) == 10
    assert bucket_quantile(0.75, buckets) == 15
    assert bucket_quantile(0.25, buckets) == 5  # first bucket starts at 0


def test_rank_in_inf_bucket_returns_highest_finite_bound():
    assert bucket_quantile(0.99, [(10, 50.0), (math.inf, 100.0)]) == 10


def test_no_observations_or_no_inf_bucket_is_nan():
    assert math.isnan(bucket_quantile(0.95, [(10, 0.0), (math.inf, 0.0)]))
    assert math.isnan(bucket_quantile(0.95, [(10, 1.0), (20, 2.0)]))


def test_non_monotonic_noise_is_flattened():
    assert bucket_quantile(0.7, [(10, 60.0), (20, 59.0), (math.inf, 100.0)]) == 20


# --- the matrix form (stored traffic's plans): every histogram at once, the same bits ---------

_bounds = st.sampled_from([-1.0, 0.0, 0.5, 1.0, 5.0, 10.0, 25.0, 100.0, 1e4, math.inf, -math.inf, math.nan])
_rates = st.one_of(st.sampled_from([0.0, 1.0, 2.5, math.inf, math.nan, -1.0]),
                   st.floats(min_value=0, max_value=1e6, allow_nan=False))
_histogram = st.dictionaries(_bounds, _rates, max_size=8)


@settings(max_examples=300, deadline=None)
@given(histograms=st.lists(_histogram, max_size=6),
       q=st.sampled_from([0.5, 0.95, 0.99, 1.0, 0.0, -0.1, 1.5, math.nan]))
def test_the_matrix_form_answers_each_histogram_as_bucket_quantile_bit_for_bit(histograms, q):
    # one accumulator per (histogram, bound), as a quantile plan lays them out
    acc, groups = [], []
    for h in histograms:
        groups.append([(upper, len(acc) + i) for i, upper in enumerate(h)])
        acc.extend(h.values())
    matrix = HistogramMatrix(groups)
    try:
        want = [bucket_quantile(q, list(h.items())) for h in histograms]
    except ZeroDivisionError:  # (q = 0 on an empty first bucket): the matrix form fails the same way
        with pytest.raises(ZeroDivisionError):
            matrix.quantiles(q, np.array(acc, dtype=np.float64))
        return
    got = matrix.quantiles(q, np.array(acc, dtype=np.float64))
    assert [struct.pack("<d", x) for x in got] == [struct.pack("<d", x) for x in want]
