"""Privacy accounting for DP-SGD and DP-FedAvg: how much (epsilon, delta)-DP a run spends.

One training round of DP-SGD / DP-FedAvg is the *Poisson-subsampled Gaussian mechanism*:
each record (or client) joins the round independently with probability ``q``, the clipped
contributions are summed, and Gaussian noise of standard deviation ``noise_multiplier``
times the clip norm is added. This module accounts for ``steps`` such rounds with Renyi
differential privacy (RDP):

1. per-round RDP of the subsampled Gaussian at a grid of orders alpha
   (Mironov, Talwar & Zhang 2019, "Renyi Differential Privacy of the Sampled Gaussian
   Mechanism", arXiv:1908.10530, Sections 3.2-3.3);
2. composition: RDP adds up over rounds (Mironov 2017, "Renyi Differential Privacy",
   Proposition 1), so ``steps`` rounds cost ``steps`` times the per-round RDP;
3. conversion to (epsilon, delta) with the improved bound of Balle, Barthe, Gaboardi,
   Hsu & Sato 2020 ("Hypothesis Testing Interpretations and Renyi Differential Privacy",
   AISTATS, arXiv:2001.05990, Theorem 21), minimised over the orders.

The computation follows Google's dp-accounting library (v0.6.0, ``RdpAccountant``), which
the tests check it against, but runs vectorised over the orders in numpy alone.
Everything is in nats; epsilon is dimensionless; delta is a probability.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import NamedTuple

import numpy as np

from edgequest.engine.checks import check_number

__all__ = [
    "DEFAULT_ORDERS",
    "PrivacyReport",
    "epsilon",
    "epsilon_from_rdp",
    "gaussian_single_release_sigma",
    "noise_multiplier_for",
    "privacy_report",
    "rdp",
]

# The orders dp-accounting 0.6.0 uses by default (DEFAULT_RDP_ORDERS): steps of 0.1 from
# 1.1 to 10.9 (where runs with epsilon of about 1 to 20 find their best order), every
# integer 11..63, then 128..1024 for very noisy or very short runs. 156 orders; 9 of the first 99 are
# integers (2.0, ..., 10.0) and take the exact binomial sum.
DEFAULT_ORDERS: tuple[float, ...] = (
    tuple(1.0 + x / 10.0 for x in range(1, 100))
    + tuple(float(a) for a in range(11, 64))
    + (128.0, 256.0, 512.0, 1024.0)
)

# Below this order the conversion of Balle et al. is numerically unstable (the
# (alpha - 1) denominator) and never the best one; dp-accounting skips it the same way.
_MIN_CONVERSION_ORDER = 1.01

# Truncation of the fractional-order series (see _log_a_fractional): stop once both
# series are decreasing and the newest terms are below exp(-30) (~1e-13) of the running
# sum, as dp-accounting does; give up after 1000 terms and exclude the order (RDP = inf,
# which is always a valid, if useless, bound). The first block computes 32 terms, which
# settles most orders; the others continue with blocks that grow the series 4-fold.
_SERIES_LOG_RELATIVE_CUTOFF = 30.0
_SERIES_MAX_TERMS = 1000
_SERIES_FIRST_TERMS = 32
_SERIES_GROWTH = 4

# noise_multiplier_for brackets sigma between 2**-_SIGMA_MAX_HALVINGS and
# 2**_SIGMA_MAX_DOUBLINGS.
_SIGMA_MAX_DOUBLINGS = 60
_SIGMA_MAX_HALVINGS = 40


@dataclass(frozen=True)
class PrivacyReport:
    """The (epsilon, delta) guarantee of ``steps`` subsampled-Gaussian rounds, with the
    Renyi order that gave it (useful for a Math Peek). When nothing is spent (q = 0 or
    steps = 0), epsilon is 0 and optimal_order is just the first order."""

    q: float
    noise_multiplier: float
    steps: int
    delta: float
    epsilon: float
    optimal_order: float
    rdp_at_optimal_order: float  # RDP of the whole run (all steps) at that order, nats


# --------------------------------------------------------------------------------------
# Argument checks (the public functions validate; the private ones trust their inputs)
# --------------------------------------------------------------------------------------


def _check_real(name: str, value: object) -> float:
    return check_number(name, value, allow_inf=True, accepted="a real number")


def _check_q(q: object) -> float:
    value = _check_real("q", q)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"q (sampling rate) must be in [0, 1], got {q!r}")
    return value


def _check_noise_multiplier(noise_multiplier: object) -> float:
    value = _check_real("noise_multiplier", noise_multiplier)
    if not (value >= 0.0 and math.isfinite(value)):
        raise ValueError(
            f"noise_multiplier must be a finite number >= 0, got {noise_multiplier!r}"
        )
    return value


def _check_steps(steps: object) -> int:
    if isinstance(steps, bool) or not isinstance(steps, Integral):
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    return int(steps)


def _check_delta(delta: object) -> float:
    value = _check_real("delta", delta)
    if not 0.0 < value < 1.0:
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    return value


def _check_orders(orders: Sequence[float] | np.ndarray | None) -> np.ndarray:
    if orders is None:
        return _DEFAULT_ORDERS_ARRAY
    try:
        values = np.asarray(orders, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"orders must be a sequence of numbers > 1, got {orders!r}") from exc
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            f"orders must be a non-empty 1-D sequence of numbers > 1, got {orders!r}"
        )
    if not np.all(np.isfinite(values)) or np.any(values <= 1.0):
        raise ValueError(f"orders must all be finite and > 1, got {orders!r}")
    return values


# --------------------------------------------------------------------------------------
# log of the standard normal CDF, vectorised (numpy has no erf)
# --------------------------------------------------------------------------------------

# Rational approximations of erf / erfc from the Cephes library (S. L. Moshier, ndtr.c,
# after W. J. Cody 1969): relative error below 6e-14 on the whole line. Written so that
# log(erfc(x)) = -x**2 + log(P(x) / Q(x)) for x >= 1, which never underflows: the
# fractional series needs tails as small as exp(-2000). Coefficients highest power first.
_ERF_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
          7.00332514112805075473e3, 5.55923013010394962768e4)
_ERF_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2,
          4.59432382970980127987e3, 2.26290000613890934246e4, 4.92673942608635921086e4)
_ERFC_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
           4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
           9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_ERFC_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1,
           3.54937778887819891062e2, 9.75708501743205489753e2, 1.82390916687909736289e3,
           2.24633760818710981792e3, 1.65666309194161350182e3, 5.57535340817727675546e2)
_ERFC_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
           6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0)
_ERFC_S = (1.0, 2.26052863220117276590e0, 9.39603524938001434673e0,
           1.20489539808096656605e1, 1.70814450747565897222e1, 9.60896809063285878198e0,
           3.36907645100081516050e0)
# Past this argument the rational form's x**8 would overflow; the asymptotic expansion
# erfc(x) ~ exp(-x^2) / (x sqrt(pi)) * (1 - 1/(2x^2)) is then exact to double precision.
_ERFC_ASYMPTOTIC_FROM = 1e6
_LOG_SQRT_PI = 0.5 * math.log(math.pi)
_LOG_2 = math.log(2.0)


def _horner(coefficients: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    result = np.full_like(x, coefficients[0])
    for c in coefficients[1:]:
        result *= x
        result += c
    return result


def _log_erfc_upper(x: np.ndarray) -> np.ndarray:
    """log(erfc(x)) for x >= 1 (Cephes rational forms, in log space)."""
    out = np.empty_like(x)
    middle = x < 8.0
    far = x >= _ERFC_ASYMPTOTIC_FROM
    tail = ~(middle | far)
    xm = x[middle]
    out[middle] = -xm * xm + np.log(_horner(_ERFC_P, xm) / _horner(_ERFC_Q, xm))
    xt = x[tail]
    out[tail] = -xt * xt + np.log(_horner(_ERFC_R, xt) / _horner(_ERFC_S, xt))
    xf = x[far]
    out[far] = -xf * xf - np.log(xf) - _LOG_SQRT_PI + np.log1p(-0.5 / (xf * xf))
    return out


def _log_normal_cdf(x: np.ndarray) -> np.ndarray:
    """log(Phi(x)) for the standard normal CDF, accurate far into the lower tail.

    Phi(x) = erfc(z) / 2 with z = -x / sqrt(2). The lower tail (z >= 1) goes through
    log erfc (no underflow); the middle (|z| < 1) through erf's rational form; the upper
    side (z <= -1) through erfc(z) = 2 - erfc(-z).
    """
    z = np.asarray(x, dtype=np.float64) * (-1.0 / math.sqrt(2.0))
    out = np.empty_like(z)
    lower_tail = z >= 1.0
    upper_side = z <= -1.0
    middle = ~(lower_tail | upper_side)
    out[lower_tail] = _log_erfc_upper(z[lower_tail])
    out[upper_side] = _LOG_2 + np.log1p(-0.5 * np.exp(_log_erfc_upper(-z[upper_side])))
    zm = z[middle]
    zz = zm * zm
    # erfc(z) = 1 - erf(z) lies in (0.15, 1.85) here: no cancellation to fear.
    out[middle] = np.log1p(-zm * _horner(_ERF_T, zz) / _horner(_ERF_U, zz))
    return out - _LOG_2


# --------------------------------------------------------------------------------------
# Renyi DP of one subsampled Gaussian round
# --------------------------------------------------------------------------------------
#
# With mu0 = N(0, sigma^2) and mu1 = N(1, sigma^2), one round has RDP of order alpha
#     rdp(alpha) = log(A_alpha) / (alpha - 1),
#     A_alpha    = E_{z ~ mu0} [ (1 - q + q * mu1(z) / mu0(z)) ** alpha ]
# (Mironov, Talwar & Zhang 2019, Section 3, for add-or-remove-one neighbours).


def _segment_logsumexp(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """log(sum(exp(values))) over consecutive segments beginning at ``starts``."""
    seg_max = np.maximum.reduceat(values, starts)
    lengths = np.diff(np.append(starts, values.size))
    safe_max = np.where(np.isfinite(seg_max), seg_max, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        sums = np.add.reduceat(np.exp(values - np.repeat(safe_max, lengths)), starts)
        out = safe_max + np.log(sums)
    return np.where(np.isposinf(seg_max), np.inf, out)


def _log_a_integer(q: float, sigma: float, alphas: np.ndarray) -> np.ndarray:
    """log(A_alpha) for integer orders by the binomial expansion (MTZ 2019, Section 3.2):

        A_alpha = sum_{i=0}^{alpha} C(alpha, i) q^i (1 - q)^(alpha - i) exp((i^2 - i) / (2 sigma^2)).

    All orders are summed in one flat vector (segment i of order alpha), so the cost is
    one pass over sum(alpha + 1) terms (about 4,000 for the default orders).
    """
    n = alphas.astype(np.int64)
    lengths = n + 1
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    alpha_flat = np.repeat(n, lengths)
    i_flat = np.arange(alpha_flat.size) - np.repeat(starts, lengths)
    # log C(n, i) from a table of log factorials (cumulative sum of logs: exact enough,
    # relative error ~1e-13 at n = 1024, and no gamma function needed).
    log_factorial = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1.0, n.max() + 1.0)))))
    log_comb = log_factorial[alpha_flat] - log_factorial[i_flat] - log_factorial[alpha_flat - i_flat]
    i_float = i_flat.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        terms = (
            log_comb
            + i_float * math.log(q)
            + (alpha_flat - i_float) * math.log1p(-q)
            + (i_float * i_float - i_float) / (2.0 * sigma * sigma)
        )
    return _segment_logsumexp(terms, starts)


class _SeriesCarry(NamedTuple):
    """Where the fractional series stopped, per pending order: the last term index's
    log|C(alpha, i)|, log s0_i, log s1_i and the running log-sum."""

    log_comb: np.ndarray
    log_s0: np.ndarray
    log_s1: np.ndarray
    log_sum: np.ndarray


def _fractional_block(
    q: float, sigma: float, alphas: np.ndarray, first: int, count: int, carry: _SeriesCarry
) -> tuple[np.ndarray, np.ndarray, _SeriesCarry]:
    """Terms ``first .. first+count-1`` of the two series for fractional alpha
    (Mironov, Talwar & Zhang 2019, Section 3.3).

    Split the integral of A_alpha at z0 = sigma^2 log(1/q - 1) + 1/2, where q mu1 = (1-q) mu0,
    and expand the power binomially on each side (the ratio is below 1 there, so both
    series converge):
        s0_i = C(alpha, i) q^i (1-q)^(alpha-i) exp((i^2 - i)/(2 sigma^2)) Phi((z0 - i)/sigma)
        s1_i = C(alpha, i) q^(alpha-i) (1-q)^i exp((j^2 - j)/(2 sigma^2)) Phi((j - z0)/sigma),
    with j = alpha - i. Like dp-accounting 0.6.0 we add |C(alpha, i)|: every other factor
    is positive, so the sum is an upper bound on A_alpha (the conservative side for a
    privacy guarantee). Below alpha = 2 it can exceed the exact signed sum noticeably,
    but such orders only give the best epsilon when epsilon is large (> ~15).

    Returns (log A_alpha, converged, carry) per order: log A_alpha is the running sum up to
    the first term that meets the stopping rule (both series decreasing and the newest
    terms below exp(-30) of the sum); ``carry`` lets the next block continue.
    """
    i = np.arange(first, first + count, dtype=np.float64)
    # log|C(alpha, i)| by the recurrence C(alpha, i) = C(alpha, i-1) (alpha - i + 1) / i,
    # with C(alpha, 0) = 1. alpha is not an integer, so no factor is ever zero.
    increments = np.log(np.abs(alphas[:, None] - i + 1.0)) - np.log(np.maximum(i, 1.0))
    if first == 0:
        increments[:, 0] = 0.0
    log_comb = carry.log_comb[:, None] + np.cumsum(increments, axis=1)
    j = alphas[:, None] - i
    log_q, log_1mq = math.log(q), math.log1p(-q)
    z0 = sigma * sigma * (log_1mq - log_q) + 0.5
    two_var = 2.0 * sigma * sigma
    log_s0 = (
        log_comb + (i * log_q + (i * i - i) / two_var + _log_normal_cdf((z0 - i) / sigma))
        + j * log_1mq  # the bracket above depends on i only: computed once for all orders
    )
    log_s1 = (
        log_comb + j * log_q + i * log_1mq + (j * j - j) / two_var
        + _log_normal_cdf((j - z0) / sigma)
    )
    log_sum = np.logaddexp.accumulate(
        np.concatenate((carry.log_sum[:, None], np.logaddexp(log_s0, log_s1)), axis=1), axis=1
    )[:, 1:]
    previous_s0 = np.concatenate((carry.log_s0[:, None], log_s0[:, :-1]), axis=1)
    previous_s1 = np.concatenate((carry.log_s1[:, None], log_s1[:, :-1]), axis=1)
    stop = (
        (log_s0 < previous_s0)
        & (log_s1 < previous_s1)
        & (np.maximum(log_s0, log_s1) < log_sum - _SERIES_LOG_RELATIVE_CUTOFF)
    )
    converged = stop.any(axis=1)
    first_stop = np.argmax(stop, axis=1)
    rows = np.arange(alphas.size)
    next_carry = _SeriesCarry(log_comb[:, -1], log_s0[:, -1], log_s1[:, -1], log_sum[:, -1])
    return log_sum[rows, first_stop], converged, next_carry


def _log_a_fractional(q: float, sigma: float, alphas: np.ndarray) -> np.ndarray:
    """log(A_alpha) for fractional orders, block by block: the first block settles most
    orders; the rest continue with longer blocks. An order whose series does not settle
    within _SERIES_MAX_TERMS terms gets +inf (excluded from the minimum, as in
    dp-accounting)."""
    log_a = np.full(alphas.shape, np.inf)
    pending = np.arange(alphas.size)
    empty = np.full(alphas.shape, -np.inf)
    carry = _SeriesCarry(np.zeros(alphas.shape), empty, empty, empty)
    first, count = 0, _SERIES_FIRST_TERMS
    while pending.size and first < _SERIES_MAX_TERMS:
        count = min(count, _SERIES_MAX_TERMS - first)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            values, converged, carry = _fractional_block(
                q, sigma, alphas[pending], first, count, carry
            )
        log_a[pending[converged]] = values[converged]
        pending = pending[~converged]
        carry = _SeriesCarry(*(part[~converged] for part in carry))
        first += count
        count = first * (_SERIES_GROWTH - 1)  # the series so far grows _SERIES_GROWTH-fold
    return log_a


def _rdp_per_step(q: float, sigma: float, orders: np.ndarray) -> np.ndarray:
    """Per-round RDP at each order (validated inputs); inf where no finite bound exists."""
    if q == 0.0:
        return np.zeros_like(orders)
    if sigma == 0.0:
        return np.full_like(orders, np.inf)
    if q == 1.0:
        # No subsampling: the Gaussian mechanism itself, alpha / (2 sigma^2)
        # (Mironov 2017, Proposition 7).
        with np.errstate(over="ignore"):
            return orders / (2.0 * sigma * sigma)
    is_integer = orders == np.floor(orders)
    log_a = np.empty_like(orders)
    if is_integer.any():
        log_a[is_integer] = _log_a_integer(q, sigma, orders[is_integer])
    if (~is_integer).any():
        log_a[~is_integer] = _log_a_fractional(q, sigma, orders[~is_integer])
    out = log_a / (orders - 1.0)
    # A NaN can only come from inf - inf at absurd sigma (say 1e-200); inf is always a
    # valid RDP bound, so use it. A divergence is never negative: values like -1e-19 are
    # round-off in log(1 + tiny) at huge sigma, so report them as 0.
    return np.where(np.isnan(out), np.inf, np.maximum(out, 0.0))


def rdp(
    q: float, noise_multiplier: float, orders: Sequence[float] | np.ndarray | None = None
) -> np.ndarray:
    """Renyi DP (nats) of ONE round of the Poisson-subsampled Gaussian mechanism.

    Args:
        q: sampling rate in [0, 1] (each record or client joins the round with
            probability q).
        noise_multiplier: sigma >= 0, noise standard deviation / L2 sensitivity (clip norm).
        orders: Renyi orders alpha > 1; None means DEFAULT_ORDERS.

    Returns:
        float64 array, RDP at each order: log(A_alpha) / (alpha - 1) (Mironov, Talwar &
        Zhang 2019): exact binomial sum for integer alpha, the two-series upper bound for
        fractional alpha, alpha / (2 sigma^2) when q = 1, 0 when q = 0, inf when sigma = 0.
        +inf at a fractional order whose series does not settle in 1000 terms.
    """
    q_value = _check_q(q)
    sigma = _check_noise_multiplier(noise_multiplier)
    order_values = _check_orders(orders)
    return _rdp_per_step(q_value, sigma, order_values)


# --------------------------------------------------------------------------------------
# RDP -> (epsilon, delta)
# --------------------------------------------------------------------------------------


def _epsilon_at_orders(rdp_total: np.ndarray, orders: np.ndarray, delta: float) -> np.ndarray:
    """epsilon(alpha) for each order, before the minimum.

    Balle et al. 2020, Theorem 21 (the bound dp-accounting cites as Canonne, Kamath &
    Steinke 2020, Proposition 12): an (alpha, r)-RDP mechanism is (eps, delta)-DP with
        eps = r + log((alpha - 1) / alpha) - (log(delta) + log(alpha)) / (alpha - 1),
    i.e. r + log1p(-1/alpha) - log(delta * alpha) / (alpha - 1); it improves on the
    classic r + log(1/delta) / (alpha - 1) (Mironov 2017, Proposition 3) by about
    log(alpha) / (alpha - 1). Also, as dp-accounting does: RDP at order alpha >= 1 bounds
    the KL divergence, and total variation <= sqrt(1 - exp(-KL)) (Bretagnolle-Huber), so
    when that is below delta the run is (0, delta)-DP. Orders <= 1.01 give inf (unstable).
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        converted = rdp_total + np.log1p(-1.0 / orders) - np.log(delta * orders) / (orders - 1.0)
        eps = np.where(orders > _MIN_CONVERSION_ORDER, converted, np.inf)
        eps = np.where(delta * delta + np.expm1(-rdp_total) > 0.0, 0.0, eps)
    # Tiny negative RDP is round-off at extreme settings: no privacy is spent.
    return np.where(rdp_total < 0.0, 0.0, eps)


def epsilon_from_rdp(
    rdp_total: Sequence[float] | np.ndarray,
    orders: Sequence[float] | np.ndarray,
    delta: float,
) -> tuple[float, float]:
    """Best (epsilon, order) from RDP values of a whole run (any mechanism).

    Args:
        rdp_total: RDP (nats) of the complete run at each order, >= 0 or inf.
        orders: the matching orders alpha > 1.
        delta: target delta in (0, 1).

    Returns:
        (epsilon >= 0, the order that achieved it); epsilon may be inf.
    """
    order_values = _check_orders(orders)
    delta_value = _check_delta(delta)
    values = np.asarray(rdp_total, dtype=np.float64)
    if values.shape != order_values.shape:
        raise ValueError(
            f"rdp_total must have one value per order ({order_values.size}), got shape {values.shape}"
        )
    if np.isnan(values).any():
        raise ValueError("rdp_total must not contain NaN")
    eps = _epsilon_at_orders(values, order_values, delta_value)
    best = int(np.argmin(eps))
    return max(0.0, float(eps[best])), float(order_values[best])


# --------------------------------------------------------------------------------------
# Public accountant
# --------------------------------------------------------------------------------------


def _report(
    q: float, sigma: float, steps: int, delta: float, orders: np.ndarray
) -> PrivacyReport:
    if steps == 0 or q == 0.0:
        # Nothing released, or no record can ever be sampled: no privacy spent.
        return PrivacyReport(q, sigma, steps, delta, 0.0, float(orders[0]), 0.0)
    # Composition: RDP of independent rounds adds (Mironov 2017, Proposition 1).
    rdp_total = steps * _rdp_per_step(q, sigma, orders)
    eps = _epsilon_at_orders(rdp_total, orders, delta)
    best = int(np.argmin(eps))
    return PrivacyReport(
        q=q,
        noise_multiplier=sigma,
        steps=steps,
        delta=delta,
        epsilon=max(0.0, float(eps[best])),
        optimal_order=float(orders[best]),
        rdp_at_optimal_order=float(rdp_total[best]),
    )


def privacy_report(
    q: float,
    noise_multiplier: float,
    steps: int,
    delta: float,
    orders: Sequence[float] | np.ndarray | None = None,
) -> PrivacyReport:
    """Like ``epsilon`` but also returns the best Renyi order and the run's RDP there."""
    return _report(
        _check_q(q),
        _check_noise_multiplier(noise_multiplier),
        _check_steps(steps),
        _check_delta(delta),
        _check_orders(orders),
    )


def epsilon(
    q: float,
    noise_multiplier: float,
    steps: int,
    delta: float,
    orders: Sequence[float] | np.ndarray | None = None,
) -> float:
    """(epsilon, delta)-DP of ``steps`` rounds of the Poisson-subsampled Gaussian mechanism.

    RDP accountant (Mironov, Talwar & Zhang 2019) with the conversion of Balle et al. 2020,
    Theorem 21, minimised over ``orders`` (default DEFAULT_ORDERS, as dp-accounting 0.6.0).

    Args:
        q: sampling rate in [0, 1] (batch size / dataset size, or clients per round /
            fleet size for user-level DP-FedAvg).
        noise_multiplier: sigma >= 0: noise standard deviation / clip norm.
        steps: number of rounds (integer >= 0).
        delta: target delta in (0, 1), typically below 1 / dataset size.
        orders: Renyi orders alpha > 1 to minimise over; None means DEFAULT_ORDERS.

    Returns:
        epsilon >= 0 (dimensionless): 0 when q = 0 or steps = 0; inf when sigma = 0 and
        q > 0.
    """
    return privacy_report(q, noise_multiplier, steps, delta, orders).epsilon


def noise_multiplier_for(
    target_epsilon: float,
    q: float,
    steps: int,
    delta: float,
    *,
    tolerance: float = 1e-3,
    orders: Sequence[float] | np.ndarray | None = None,
) -> float:
    """Smallest noise multiplier whose run meets ``epsilon <= target_epsilon``.

    Searches the geometric grid sigma_k = 2 ** (k * h), h = log2(1 + tolerance): brackets
    by doubling (or halving) sigma from 1, then bisects over k. The answer is the
    smallest grid point that meets the target, so (i) ``epsilon(q, result, steps, delta)
    <= target_epsilon`` always, (ii) ``result <= (1 + tolerance) * sigma*`` where sigma*
    is the exact smallest noise multiplier, and (iii) the result is exactly monotone:
    never larger for a larger target, never smaller for larger q or more steps.

    Args:
        target_epsilon: epsilon to meet, > 0 and finite.
        q, steps, delta: as in ``epsilon``.
        tolerance: relative precision of the answer, in [1e-9, 1].
        orders: as in ``epsilon``.

    Returns:
        sigma >= 0 (0.0 when q = 0 or steps = 0: no noise is needed).

    Raises:
        ValueError: bad arguments, or a target that needs sigma above 2**60.
    """
    target = _check_real("target_epsilon", target_epsilon)
    if not (target > 0.0 and math.isfinite(target)):
        raise ValueError(f"target_epsilon must be a finite number > 0, got {target_epsilon!r}")
    q_value = _check_q(q)
    steps_value = _check_steps(steps)
    delta_value = _check_delta(delta)
    tol = _check_real("tolerance", tolerance)
    if not 1e-9 <= tol <= 1.0:
        raise ValueError(f"tolerance must be in [1e-9, 1], got {tolerance!r}")
    order_values = _check_orders(orders)
    if q_value == 0.0 or steps_value == 0:
        return 0.0

    grid_step = math.log2(1.0 + tol)
    per_doubling = max(1, math.ceil(1.0 / grid_step))  # grid points per factor of two

    def sigma_at(k: int) -> float:
        return 2.0 ** (k / per_doubling)

    def meets(k: int) -> bool:
        return _report(q_value, sigma_at(k), steps_value, delta_value, order_values).epsilon <= target

    # Bracket: find lo < hi (grid indices) with meets(hi) and not meets(lo).
    if meets(0):
        hi, lo = 0, -per_doubling
        while meets(lo):
            hi, lo = lo, lo - per_doubling
            if lo < -_SIGMA_MAX_HALVINGS * per_doubling:
                # Even sigma = 2**-40 meets the target: report that floor.
                return sigma_at(hi)
    else:
        lo, hi = 0, per_doubling
        while not meets(hi):
            lo, hi = hi, hi + per_doubling
            if hi > _SIGMA_MAX_DOUBLINGS * per_doubling:
                raise ValueError(
                    f"target_epsilon={target_epsilon!r} is out of reach: even "
                    f"noise_multiplier=2**{_SIGMA_MAX_DOUBLINGS} spends more"
                )
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return sigma_at(hi)


def gaussian_single_release_sigma(
    epsilon: float, delta: float, sensitivity: float = 1.0
) -> float:
    """Noise standard deviation of the classic Gaussian mechanism for ONE release.

    Dwork & Roth 2014 ("The Algorithmic Foundations of Differential Privacy", Theorem
    3.22), as quoted in the book: sigma >= sensitivity * sqrt(2 ln(1.25 / delta)) / epsilon
    gives (epsilon, delta)-DP. The theorem is proved for epsilon in (0, 1); epsilon = 1 is
    included by continuity. E.g. sensitivity 1, delta 1e-5, epsilon 1 -> sigma ~ 4.84.
    It does not compose well: for many rounds use ``noise_multiplier_for``.

    Args:
        epsilon: in (0, 1].
        delta: in (0, 1).
        sensitivity: L2 sensitivity (e.g. the clip norm), > 0 and finite.

    Returns:
        sigma, in the units of the released quantity.
    """
    eps_value = _check_real("epsilon", epsilon)
    if not 0.0 < eps_value <= 1.0:
        raise ValueError(
            f"epsilon must be in (0, 1] for the classic Gaussian bound (Dwork & Roth, "
            f"Theorem 3.22), got {epsilon!r}; for larger epsilon use the RDP accountant"
        )
    delta_value = _check_delta(delta)
    sens = _check_real("sensitivity", sensitivity)
    if not (sens > 0.0 and math.isfinite(sens)):
        raise ValueError(f"sensitivity must be a finite number > 0, got {sensitivity!r}")
    return sens * math.sqrt(2.0 * math.log(1.25 / delta_value)) / eps_value


_DEFAULT_ORDERS_ARRAY = np.array(DEFAULT_ORDERS, dtype=np.float64)
_DEFAULT_ORDERS_ARRAY.setflags(write=False)
