import math

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
