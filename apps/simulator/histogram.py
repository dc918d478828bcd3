"""Latency profiles expressed in Istio's default duration buckets.

A profile is given as a few quantiles (p50/p95/p99) and a mean. We choose the
cumulative fraction of requests at each bucket boundary so that Prometheus's
``histogram_quantile`` (linear interpolation inside the bucket that holds the
rank, lower bound 0 for the first bucket) returns exactly the configured
quantiles, and ``_sum / _count`` returns exactly the configured mean (the sum is
set from the mean; Prometheus never checks it against the buckets).

Within one bucket ``histogram_quantile`` can only draw one straight line, so
two quantiles in the same bucket fix that line, and three quantiles in one
bucket are only exact if they are collinear. When the exact fit is impossible
(typically a large fault delay pushes p50/p95/p99 into one wide bucket) we fall
back to honouring a subset, p95 first (Kiali's default), see ``fit_buckets``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Istio's default buckets for istio_request_duration_milliseconds.
DURATION_BUCKETS_MS: tuple[float, ...] = (
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
    300000, 600000, 1800000, 3600000,
)


def format_le(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return repr(float(value))


LE_STRINGS: tuple[str, ...] = tuple(format_le(b) for b in DURATION_BUCKETS_MS) + ("+Inf",)
N_BUCKETS = len(LE_STRINGS)  # 20, the last one is +Inf

_EPS = 1e-9


class InfeasibleProfile(ValueError):
    pass


def _bucket_of(value: float) -> int:
    for i, upper in enumerate(DURATION_BUCKETS_MS):
        if value <= upper:
            return i
    raise InfeasibleProfile(f"{value} ms is above the last finite bucket")


def _lower(i: int) -> float:
    return 0.0 if i == 0 else float(DURATION_BUCKETS_MS[i - 1])


def _solve(points: list[tuple[float, float]]) -> list[float]:
    """Cumulative fractions at each finite boundary that reproduce ``points`` exactly.

    ``points`` are (value_ms, quantile) pairs, strictly increasing in both.
    Raises InfeasibleProfile when impossible.
    """
    nb = len(DURATION_BUCKETS_MS)
    by_bucket: dict[int, list[tuple[float, float]]] = {}
    for v, q in points:
        if not (0 < q < 1) or v <= 0:
            raise InfeasibleProfile(f"bad point {(v, q)}")
        by_bucket.setdefault(_bucket_of(v), []).append((v, q))
    for pts in by_bucket.values():
        if len(pts) > 2:
            (v1, q1), (v2, q2) = pts[0], pts[1]
            slope = (q2 - q1) / (v2 - v1)
            for v, q in pts[2:]:
                if abs(q1 + slope * (v - v1) - q) > 1e-12:
                    raise InfeasibleProfile("three non-collinear quantiles in one bucket")
    # Runs of consecutive buckets holding points.
    idx = sorted(by_bucket)
    runs: list[list[int]] = []
    for i in idx:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])

    fixed: dict[int, float] = {}  # boundary index (into DURATION_BUCKETS_MS) -> F; -1 is "0 ms"
    fixed[-1] = 0.0
    prev_value = 0.0
    for run in runs:
        # Each boundary value is affine in L = F(lower boundary of the run): (a, b) -> a + b*L.
        ineq: list[tuple[float, float]] = []  # c + d*L >= 0
        eq: list[tuple[float, float]] = []  # c + d*L == 0
        start = run[0] - 1
        exprs: dict[int, tuple[float, float]] = {start: (0.0, 1.0)}
        if start == -1:
            eq.append((0.0, 1.0))  # F(0) is 0
        ineq.append((-prev_value, 1.0))  # L >= previous fixed value (monotone)
        cur = (0.0, 1.0)
        for i in run:
            lo, hi = _lower(i), float(DURATION_BUCKETS_MS[i])
            pts = by_bucket[i]
            a, b = cur
            v, q = pts[0]
            ineq.append((q - a - _EPS, -b))  # F(lo) < q
            if len(pts) >= 2:
                (v1, q1), (v2, q2) = pts[0], pts[1]
                slope = (q2 - q1) / (v2 - v1)
                f_lo = q1 - slope * (v1 - lo)
                f_hi = q2 + slope * (hi - v2)
                eq.append((a - f_lo, b))
                nxt = (f_hi, 0.0)
            else:
                t = (v - lo) / (hi - lo)
                nxt = (q / t + a * (1 - 1 / t), b * (1 - 1 / t))
            last_q = pts[-1][1]
            ineq.append((nxt[0] - last_q, nxt[1]))  # F(hi) >= last quantile in the bucket
            ineq.append((1.0 - nxt[0], -nxt[1]))  # F(hi) <= 1
            exprs[i] = nxt
            cur = nxt
        # F(end of run) must stay below the next point's quantile.
        later = [q for j in idx if j > run[-1] for (_, q) in by_bucket[j]]
        if later:
            ineq.append((min(later) - _EPS - cur[0], -cur[1]))
        lo_b, hi_b = -float("inf"), float("inf")
        for c, d in ineq:
            if abs(d) < 1e-15:
                if c < -1e-12:
                    raise InfeasibleProfile("constant constraint violated")
                continue
            bound = -c / d
            if d > 0:
                lo_b = max(lo_b, bound)
            else:
                hi_b = min(hi_b, bound)
        chosen = None
        for c, d in eq:
            if abs(d) < 1e-15:
                if abs(c) > 1e-12:
                    raise InfeasibleProfile("constant equality violated")
                continue
            val = -c / d
            if chosen is not None and abs(val - chosen) > 1e-9:
                raise InfeasibleProfile("conflicting equalities")
            chosen = val
        if chosen is None:
            if lo_b > hi_b + 1e-12:
                raise InfeasibleProfile("no feasible lower value")
            chosen = (lo_b + hi_b) / 2
        elif not (lo_b - 1e-9 <= chosen <= hi_b + 1e-9):
            raise InfeasibleProfile("equality outside the feasible range")
        for j, (a, b) in exprs.items():
            fixed[j] = a + b * chosen
        prev_value = fixed[run[-1]]

    # Fill the free boundaries.
    out = [0.0] * nb
    fixed_sorted = sorted(fixed)
    first_run_start = fixed_sorted[1] if len(fixed_sorted) > 1 else 0
    last_fixed = fixed_sorted[-1]
    for j in range(nb):
        if j in fixed:
            out[j] = fixed[j]
        elif j < first_run_start:
            out[j] = 0.0  # nothing faster than the bucket just below the first quantile
        elif j > last_fixed:
            out[j] = 1.0  # the slowest requests finish in the bucket just above the last fixed one
        else:
            left = max(k for k in fixed_sorted if k < j)
            right = min(k for k in fixed_sorted if k > j)
            out[j] = fixed[left] + (fixed[right] - fixed[left]) * (j - left) / (right - left)
    for j in range(1, nb):
        if out[j] < out[j - 1] - 1e-12:
            raise InfeasibleProfile("non monotone result")
    return out


def fit_buckets(quantiles: dict[float, float]) -> list[float]:
    """Cumulative fractions at the finite boundaries reproducing ``quantiles`` exactly."""
    return _solve(sorted((v, q) for q, v in quantiles.items()))


def _cdf(cumulative: tuple[float, ...], x: float) -> float:
    """The CDF histogram_quantile assumes: linear inside each bucket."""
    if x <= 0:
        return 0.0
    lo, f_lo = 0.0, 0.0
    for upper, f in zip(DURATION_BUCKETS_MS, cumulative, strict=False):
        if x <= upper:
            return f_lo + (f - f_lo) * (x - lo) / (upper - lo)
        lo, f_lo = upper, f
    return 1.0


@dataclass(frozen=True)
class LatencyProfile:
    """Per-request latency: quantiles in ms and the mean in ms."""

    p50: float
    p95: float
    p99: float
    mean: float
    # cumulative fraction per bucket, including +Inf (== 1.0); computed
    cumulative: tuple[float, ...] = field(default=(), compare=False, repr=False)
    # False when the buckets cannot show p50/p95/p99 exactly (see ``shifted``)
    exact: bool = field(default=True, compare=False)

    @classmethod
    def of(cls, p50: float, p95: float, p99: float, mean: float) -> LatencyProfile:
        fr = fit_buckets({0.5: p50, 0.95: p95, 0.99: p99})
        return cls(p50, p95, p99, mean, tuple(fr) + (1.0,))

    def shifted(self, delay_ms: float) -> LatencyProfile:
        """The same requests held ``delay_ms`` longer (a fault delay).

        Exact quantiles + delay when the buckets can show them; otherwise the
        buckets a real Prometheus would hold for the delayed requests (the
        shifted distribution cut at Istio's boundaries), e.g. a 5 s delay puts
        nearly everything into (5000, 10000] and histogram_quantile answers
        with values inside that bucket, as it would on a real mesh.
        """
        try:
            return LatencyProfile.of(self.p50 + delay_ms, self.p95 + delay_ms, self.p99 + delay_ms,
                                     self.mean + delay_ms)
        except InfeasibleProfile:
            cum = tuple(_cdf(self.cumulative, b - delay_ms) for b in DURATION_BUCKETS_MS) + (1.0,)
            return LatencyProfile(
                self.p50 + delay_ms, self.p95 + delay_ms, self.p99 + delay_ms, self.mean + delay_ms, cum, False
            )


def instant_profile() -> LatencyProfile:
    """Requests answered by the client's own proxy (fault abort, no route): all under 0.5 ms."""
    cum = tuple([1.0] * N_BUCKETS)
    return LatencyProfile(0.25, 0.475, 0.495, 0.2, cum)


INSTANT = instant_profile()


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus's classic histogram_quantile over (upper_bound, cumulative) pairs."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][0] != float("inf"):
        return float("nan")
    total = buckets[-1][1]
    if total == 0:
        return float("nan")
    rank = q * total
    for i, (upper, cum) in enumerate(buckets):
        if cum >= rank:
            if upper == float("inf"):
                return buckets[-2][0]
            lower, prev = (0.0, 0.0) if i == 0 else buckets[i - 1]
            if i == 0 and upper <= 0:
                return upper
            if cum == prev:
                return upper
            return lower + (upper - lower) * (rank - prev) / (cum - prev)
    return buckets[-2][0]
