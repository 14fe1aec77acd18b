"""Heterogeneous (non-IID) client data for simulated federated fleets.

Two generators, both returning a :class:`FederatedDataset` whose per-client
arrays are padded into dense 3-D arrays (clients x max_samples x features) with
a boolean mask, so that training can run on every client at once with batched
matrix products:

* :func:`synthetic_fleet` -- FedProx's ``Synthetic(alpha, beta)`` (Li et al.,
  "Federated Optimization in Heterogeneous Networks", MLSys 2020, section 5.1,
  after Shamir et al. 2014).  ``alpha`` sets how much the clients' labelling
  models differ, ``beta`` how much their feature distributions differ; the IID
  variant gives every client the same model and feature distribution.
* :func:`city_fleet` -- a shared class-conditional Gaussian task with Dirichlet
  label skew (Hsu, Qi, Brown, "Measuring the Effects of Non-Identical Data
  Distribution for Federated Visual Classification", 2019), with clients grouped
  into cities (each city its own label mix and feature shift) and an optional
  rare "dust storm" class that lives mostly in a few cities.

Real samples of a client always occupy the first ``n_samples[k]`` rows of its
block; padding rows are zero and masked out.  Every client also has a held-out
split drawn from its own distribution; their union is the global test set, the
evaluation FedProx uses (each client's test data in proportion to its size), so
it follows the fleet's overall distribution.

Sizes are kept small on purpose (about 100-200 clients, 30 features, 10 classes,
tens of samples each) so a whole FedAvg run fits the game's per-run time budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgequest.engine.checks import check_generator, check_int, check_number

__all__ = [
    "FederatedDataset",
    "synthetic_fleet",
    "city_fleet",
    "client_sample_counts",
    "skew_weight",
    "check_int",
    "check_number",
    "check_generator",
]


@dataclass(frozen=True)
class FederatedDataset:
    """Padded per-client data of one simulated cohort (arrays are read-only).

    Attributes:
        x: (clients, max_samples, features) float32 training features, zero-padded.
        y: (clients, max_samples) int64 training labels, 0 in padding rows.
        mask: (clients, max_samples) bool, True on real samples.
        n_samples: (clients,) int64 real training samples per client.
        x_holdout: (clients, max_holdout, features) float32 held-out features
            drawn from each client's own distribution, zero-padded.
        y_holdout: (clients, max_holdout) int64 held-out labels.
        holdout_mask: (clients, max_holdout) bool, True on real held-out samples.
        city: (clients,) int64 city index of each client (all 0 without cities).
        link_quality: (clients,) float64 in [-1, 1]; how good a client's uplink is
            relative to the fleet average (scales its upload reliability).
        x_rare_test: (n, features) float32 samples of the rare class drawn from
            the fleet's distribution, for rare-class recall; (0, features) if
            there is no rare class.
        n_classes: number of classes.
        rare_class: index of the rare class, or None.
        description: the generator and its heterogeneity settings, for display.
    """

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    n_samples: np.ndarray
    x_holdout: np.ndarray
    y_holdout: np.ndarray
    holdout_mask: np.ndarray
    city: np.ndarray
    link_quality: np.ndarray
    x_rare_test: np.ndarray
    n_classes: int
    rare_class: int | None
    description: str

    def __post_init__(self) -> None:
        # A frozen dataclass does not stop writes into its arrays; make them
        # read-only so one run cannot change the data another run sees.
        for name in (
            "x", "y", "mask", "n_samples", "x_holdout", "y_holdout",
            "holdout_mask", "city", "link_quality", "x_rare_test",
        ):
            getattr(self, name).flags.writeable = False

    @property
    def n_clients(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.x.shape[2])

    @property
    def max_samples(self) -> int:
        return int(self.x.shape[1])

    @property
    def n_cities(self) -> int:
        return int(self.city.max()) + 1

    @property
    def x_test(self) -> np.ndarray:
        """(n_test, features) global test features: every client's held-out rows."""
        return self.x_holdout[self.holdout_mask]

    @property
    def y_test(self) -> np.ndarray:
        """(n_test,) global test labels, aligned with :attr:`x_test`."""
        return self.y_holdout[self.holdout_mask]

    @property
    def x_train(self) -> np.ndarray:
        """(n_train, features) every real training row of every client."""
        return self.x[self.mask]

    @property
    def y_train(self) -> np.ndarray:
        """(n_train,) training labels aligned with :attr:`x_train`."""
        return self.y[self.mask]


# --------------------------------------------------------------------------
# shared pieces
# --------------------------------------------------------------------------


def client_sample_counts(
    n_clients: int, *, median: int, min_samples: int, max_samples: int,
    spread: float, rng: np.random.Generator,
) -> np.ndarray:
    """Samples per client: a clipped log-normal law.

    FedProx draws client sizes from a log-normal (power-law-like) law; we keep
    the shape but clip it to [min_samples, max_samples] so the padded arrays
    stay small.  ``spread`` is the log-normal sigma.
    """
    raw = median * np.exp(spread * rng.standard_normal(n_clients))
    return np.clip(np.rint(raw), min_samples, max_samples).astype(np.int64)


def _padding_mask(counts: np.ndarray, width: int) -> np.ndarray:
    return np.arange(width)[None, :] < counts[:, None]


def _holdout_counts(n_samples: np.ndarray, fraction: float) -> np.ndarray:
    # At least 2 held-out rows per client so per-device accuracy is defined.
    return np.maximum(2, np.rint(fraction * n_samples)).astype(np.int64)


def _draw_categorical(probs: np.ndarray, width: int, rng: np.random.Generator) -> np.ndarray:
    """(clients, width) labels, row k drawn i.i.d. from probs[k] by inverse CDF."""
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0  # guard against round-off leaving the last bin short
    u = rng.random((probs.shape[0], width))
    return (u[:, :, None] >= cdf[:, None, :]).sum(axis=2).astype(np.int64)


def _validate_sizes(
    n_clients: int, n_features: int, n_classes: int, median_samples: int,
    min_samples: int, max_samples: int, sample_spread: float, holdout_fraction: float,
) -> tuple[int, int, int, int, int, int, float, float]:
    n_clients = check_int("n_clients", n_clients, 2, 10_000)
    n_features = check_int("n_features", n_features, 2, 1_000)
    n_classes = check_int("n_classes", n_classes, 2, 100)
    min_samples = check_int("min_samples", min_samples, 1, 10_000)
    max_samples = check_int("max_samples", max_samples, min_samples, 10_000)
    median_samples = check_int("median_samples", median_samples, min_samples, max_samples)
    sample_spread = check_number("sample_spread", sample_spread, 0.0, 5.0)
    holdout_fraction = check_number("holdout_fraction", holdout_fraction, 0.0, 4.0, low_open=True)
    return (n_clients, n_features, n_classes, median_samples, min_samples,
            max_samples, sample_spread, holdout_fraction)


# --------------------------------------------------------------------------
# FedProx Synthetic(alpha, beta)
# --------------------------------------------------------------------------


def synthetic_fleet(
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    iid: bool = False,
    n_clients: int = 100,
    n_features: int = 30,
    n_classes: int = 10,
    median_samples: int = 28,
    min_samples: int = 12,
    max_samples: int = 48,
    sample_spread: float = 0.5,
    holdout_fraction: float = 0.5,
    rng: np.random.Generator,
) -> FederatedDataset:
    """FedProx's Synthetic(alpha, beta) federated data (Li et al., MLSys 2020, sec. 5.1).

    Client k labels its samples with its own softmax-regression model,
    ``y = argmax(x W_k + b_k)``, where ``W_k ~ N(u_k, 1)`` and ``b_k ~ N(u_k, 1)``
    elementwise and ``u_k ~ N(0, alpha^2)``: ``alpha`` is model heterogeneity.
    Its features are ``x ~ N(v_k, Sigma)`` with ``Sigma_jj = j^-1.2`` and
    ``v_k ~ N(B_k, 1)`` elementwise, ``B_k ~ N(0, beta^2)``: ``beta`` is data
    heterogeneity.  Like the FedProx reference code, alpha and beta are used as
    standard deviations.  ``iid=True`` is FedProx's Synthetic-IID: one global
    ``W, b ~ N(0, 1)`` and ``x ~ N(0, Sigma)`` on every client (alpha, beta
    ignored).

    FedProx used 60 features and ~log-normal(4, 2) + 50 samples per client; the
    defaults here are smaller (30 features, 12-48 samples) so that a federated
    run fits the game's time budget.  Every client gets ``link_quality`` drawn
    uniformly in [-1, 1] (no link pattern in this task).
    """
    (n_clients, n_features, n_classes, median_samples, min_samples, max_samples,
     sample_spread, holdout_fraction) = _validate_sizes(
        n_clients, n_features, n_classes, median_samples, min_samples,
        max_samples, sample_spread, holdout_fraction)
    alpha = check_number("alpha", alpha, 0.0, 100.0)
    beta = check_number("beta", beta, 0.0, 100.0)
    if not isinstance(iid, bool):
        raise ValueError(f"iid must be a bool, got {iid!r}")
    rng = check_generator(rng)

    n_samples = client_sample_counts(
        n_clients, median=median_samples, min_samples=min_samples,
        max_samples=max_samples, spread=sample_spread, rng=rng)
    n_holdout = _holdout_counts(n_samples, holdout_fraction)
    feature_sd = np.arange(1, n_features + 1, dtype=np.float64) ** -0.6  # sqrt(j^-1.2)

    if iid:
        w = np.broadcast_to(rng.standard_normal((n_features, n_classes)), (n_clients, n_features, n_classes))
        b = np.broadcast_to(rng.standard_normal(n_classes), (n_clients, n_classes))
        v = np.zeros((n_clients, n_features))
    else:
        u = alpha * rng.standard_normal(n_clients)
        w = u[:, None, None] + rng.standard_normal((n_clients, n_features, n_classes))
        b = u[:, None] + rng.standard_normal((n_clients, n_classes))
        big_b = beta * rng.standard_normal(n_clients)
        v = big_b[:, None] + rng.standard_normal((n_clients, n_features))

    def draw(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        width = int(counts.max())
        mask = _padding_mask(counts, width)
        x = v[:, None, :] + feature_sd * rng.standard_normal((n_clients, width, n_features))
        y = np.argmax(np.matmul(x, w) + b[:, None, :], axis=2).astype(np.int64)
        x = np.where(mask[:, :, None], x, 0.0).astype(np.float32)
        return x, np.where(mask, y, 0), mask

    x, y, mask = draw(n_samples)
    x_ho, y_ho, mask_ho = draw(n_holdout)
    link_quality = rng.uniform(-1.0, 1.0, n_clients)
    description = "Synthetic-IID" if iid else f"Synthetic({alpha:g}, {beta:g})"
    return FederatedDataset(
        x=x, y=y, mask=mask, n_samples=n_samples,
        x_holdout=x_ho, y_holdout=y_ho, holdout_mask=mask_ho,
        city=np.zeros(n_clients, dtype=np.int64), link_quality=link_quality,
        x_rare_test=np.zeros((0, n_features), dtype=np.float32),
        n_classes=n_classes, rare_class=None, description=description,
    )


# --------------------------------------------------------------------------
# Dirichlet label skew with cities and a rare class
# --------------------------------------------------------------------------


def _rare_class_share(
    city_of_client: np.ndarray, n_cities: int, dust_cities: int,
    rare_prior: float, rare_in_dust_cities: float,
) -> np.ndarray:
    """Prior of the rare class in each city.

    ``rare_in_dust_cities`` of the rare class's global mass goes to the first
    ``dust_cities`` cities, the rest to the others, each group in proportion to
    its client count, so the fleet-wide prior stays ``rare_prior``.
    """
    clients_per_city = np.bincount(city_of_client, minlength=n_cities).astype(np.float64)
    share = clients_per_city / clients_per_city.sum()
    dusty = np.arange(n_cities) < dust_cities
    dusty_share = share[dusty].sum()
    if dust_cities == n_cities:
        return np.full(n_cities, rare_prior)
    high = rare_prior * rare_in_dust_cities / dusty_share
    low = rare_prior * (1.0 - rare_in_dust_cities) / (1.0 - dusty_share)
    if max(high, low) > 0.5:
        raise ValueError(
            f"rare_prior={rare_prior!r} with rare_in_dust_cities={rare_in_dust_cities!r} puts "
            f"{max(high, low):.2f} of some city's data in the rare class; accepted: at most 0.5 "
            "(lower rare_prior or rare_in_dust_cities, or raise dust_cities)")
    return np.where(dusty, high, low)


def skew_weight(alpha: float) -> float:
    """How strongly feature skew follows the label skew alpha: 1 / sqrt(1 + alpha)."""
    return 0.0 if np.isinf(alpha) else float(1.0 / np.sqrt(1.0 + alpha))


def _log_dirichlet_rows(concentration: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Log of one Dirichlet draw per row (unnormalised); -inf where concentration is 0.

    Gamma variates normalised to sum 1 are Dirichlet.  For tiny concentrations
    a gamma variate underflows to 0, so it is drawn in log space with the boost
    ``G(a) = G(a + 1) * U^(1/a)`` (Marsaglia and Tsang 2000).
    """
    present = concentration > 0
    a = np.where(present, concentration, 1.0)
    log_g = np.log(rng.standard_gamma(a + 1.0)) + np.log(rng.random(a.shape)) / a
    return np.where(present, log_g, -np.inf)


def city_fleet(
    *,
    alpha: float = 0.5,
    n_cities: int = 5,
    city_alpha: float = 10.0,
    city_shift: float = 0.3,
    class_separation: float = 0.6,
    feature_decay: float = 0.6,
    rare_prior: float = 0.02,
    dust_cities: int = 1,
    rare_in_dust_cities: float = 0.9,
    n_clients: int = 100,
    n_features: int = 30,
    n_classes: int = 10,
    median_samples: int = 28,
    min_samples: int = 12,
    max_samples: int = 48,
    sample_spread: float = 0.5,
    holdout_fraction: float = 0.5,
    rare_test_samples: int = 400,
    feature_skew: float = 0.0,
    concept_skew: float = 0.0,
    rng: np.random.Generator,
) -> FederatedDataset:
    """Cities of clients with Dirichlet label skew over a class-conditional Gaussian task.

    The task: class ``c`` has mean ``mu_c`` (random, norm about
    ``class_separation``) and ``x | c, city ~ N(mu_c + s_city, diag(sd^2))``
    with ``sd_j = j^-feature_decay``; 0.6 gives FedProx's ``Sigma_jj = j^-1.2``.
    The decaying variances make the problem ill-conditioned: gradient steps fit
    the loud features first and need many rounds to weigh the quiet, more
    informative ones, so accuracy climbs over tens of rounds rather than in
    one.  A linear (softmax-regression) model is the right family within a city.

    Label mixes are drawn hierarchically with Hsu et al.'s (2019) rule
    ``q ~ Dir(concentration * prior)``: each city draws its mix of the ordinary
    classes from ``Dir(city_alpha * uniform)``, and each client draws its own
    mix from ``Dir(alpha * p_city)`` around its city's.  The per-class
    concentration is ``alpha * p_i`` (Hsu's convention), so ``alpha = 1`` with
    10 classes is already strongly skewed; ``alpha -> 0`` gives one class per
    client.  ``alpha = inf`` (or ``city_alpha = inf``) turns that level off:
    every client copies its city's mix (every city the uniform mix).  City
    mixes are drawn before, and independently of, ``alpha``, so for one seed
    datasets that differ only in ``alpha`` share their cities and the fleet's
    expected label mix; only who holds which labels changes.  Each city also
    shifts its features by ``s_city ~ N(0, (city_shift * sd)^2)``, i.e.
    ``city_shift`` noise standard deviations per feature: sensors, weather and
    roads differ between cities.

    The rare class (``rare_prior > 0``; index ``n_classes - 1``, the "dust
    storm") has a fleet-wide prior of ``rare_prior``, and a share
    ``rare_in_dust_cities`` of it lives in the first ``dust_cities`` cities.
    Those cities are also given poorer uplinks (``link_quality`` centred at
    -0.5, other cities uniform in [-0.5, 0.5], clients +-0.5 around their
    city): the project's own assumption, standing for rural or desert areas, so
    that preferring reliable clients has a visible cost on the rare class.

    ``x_rare_test`` holds ``rare_test_samples`` rare-class samples drawn from
    the fleet (a client chosen in proportion to its size times its city's
    rare-class prior, which is never zero even when, under extreme skew, no
    client happens to hold the class), so rare-class recall is measured on
    enough samples to mean something.

    Skew in features as well as labels (both 0 by default): with
    ``feature_skew`` each client's sensor has its own gain per feature,
    ``exp(feature_skew * s * N(0, 1))``, and with ``concept_skew`` its own
    rendering of every class, a class-mean offset of ``concept_skew * s``
    noise standard deviations per feature, where ``s = 1 / sqrt(1 + alpha)``
    (:func:`skew_weight`) ties both to the label skew: near 1 for alpha -> 0,
    0.1 at alpha = 100.  Different gains give the clients different loss
    curvatures and the offsets different optima, so a client that trains long
    on its own data moves towards a model the others disagree with: the
    client drift of Karimireddy et al. (SCAFFOLD, ICML 2020) that a purely
    label-skewed Gaussian task barely shows.  The sizes are the project's own
    assumption.
    """
    (n_clients, n_features, n_classes, median_samples, min_samples, max_samples,
     sample_spread, holdout_fraction) = _validate_sizes(
        n_clients, n_features, n_classes, median_samples, min_samples,
        max_samples, sample_spread, holdout_fraction)
    alpha = check_number("alpha", alpha, 0.0, np.inf, low_open=True, allow_inf=True)
    city_alpha = check_number("city_alpha", city_alpha, 0.0, np.inf, low_open=True, allow_inf=True)
    n_cities = check_int("n_cities", n_cities, 1, n_clients)
    city_shift = check_number("city_shift", city_shift, 0.0, 100.0)
    class_separation = check_number("class_separation", class_separation, 0.0, 100.0, low_open=True)
    feature_decay = check_number("feature_decay", feature_decay, 0.0, 3.0)
    rare_prior = check_number("rare_prior", rare_prior, 0.0, 0.5)
    dust_cities = check_int("dust_cities", dust_cities, 1, n_cities)
    rare_in_dust_cities = check_number("rare_in_dust_cities", rare_in_dust_cities, 0.0, 1.0)
    rare_test_samples = check_int("rare_test_samples", rare_test_samples, 0, 100_000)
    feature_skew = check_number("feature_skew", feature_skew, 0.0, 10.0)
    concept_skew = check_number("concept_skew", concept_skew, 0.0, 100.0)
    rng = check_generator(rng)

    # The task itself is drawn first, so datasets that differ only in their
    # heterogeneity settings share class means and city shifts for one seed.
    feature_sd = np.arange(1, n_features + 1, dtype=np.float64) ** -feature_decay
    class_means = class_separation / np.sqrt(n_features) * rng.standard_normal((n_classes, n_features))
    city_shifts = city_shift * feature_sd * rng.standard_normal((n_cities, n_features))
    city_link = rng.uniform(-0.5, 0.5, n_cities)
    client_link = rng.uniform(-0.5, 0.5, n_clients)
    n_samples = client_sample_counts(
        n_clients, median=median_samples, min_samples=min_samples,
        max_samples=max_samples, spread=sample_spread, rng=rng)
    n_holdout = _holdout_counts(n_samples, holdout_fraction)

    city = np.arange(n_clients, dtype=np.int64) % n_cities  # balanced cities
    has_rare = rare_prior > 0.0
    rare_class = n_classes - 1 if has_rare else None
    n_ordinary = n_classes - 1 if has_rare else n_classes

    # City mixes of the ordinary classes: Dir(city_alpha / n_ordinary each).
    if np.isinf(city_alpha):
        ordinary_mix = np.full((n_cities, n_ordinary), 1.0 / n_ordinary)
    else:
        ordinary_mix = rng.dirichlet(np.full(n_ordinary, city_alpha / n_ordinary), size=n_cities)
    city_prior = np.zeros((n_cities, n_classes))
    if has_rare:
        rare_share = _rare_class_share(city, n_cities, dust_cities, rare_prior, rare_in_dust_cities)
        city_prior[:, :n_ordinary] = ordinary_mix * (1.0 - rare_share)[:, None]
        city_prior[:, rare_class] = rare_share
    else:
        city_prior[:] = ordinary_mix

    # Client mixes around their city's: Dir(alpha * p_city) (Hsu et al. 2019).
    if np.isinf(alpha):
        client_prior = city_prior[city]
    else:
        log_mix = _log_dirichlet_rows(alpha * city_prior[city], rng)
        mix = np.exp(log_mix - log_mix.max(axis=1, keepdims=True))
        client_prior = mix / mix.sum(axis=1, keepdims=True)

    poor_link_city = has_rare & (np.arange(n_cities) < dust_cities)
    link_quality = np.where(poor_link_city, -0.5, city_link)[city] + client_link
    link_quality = np.clip(link_quality, -1.0, 1.0)

    # Feature skew, drawn only when asked for (so the label-skew-only data of a
    # seed stay as they were).
    weight = skew_weight(alpha)
    gain = (np.exp(feature_skew * weight * rng.standard_normal((n_clients, 1, n_features)))
            if feature_skew > 0 else np.ones((n_clients, 1, n_features)))
    offsets = (concept_skew * weight * feature_sd * rng.standard_normal((n_clients, n_classes, n_features))
               if concept_skew > 0 else np.zeros((n_clients, n_classes, n_features)))
    client_rows = np.arange(n_clients)[:, None]

    def draw(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        width = int(counts.max())
        mask = _padding_mask(counts, width)
        y = _draw_categorical(client_prior, width, rng)
        noise = feature_sd * rng.standard_normal((n_clients, width, n_features))
        x = (class_means[y] + city_shifts[city][:, None, :] + offsets[client_rows, y] + noise) * gain
        x = np.where(mask[:, :, None], x, 0.0).astype(np.float32)
        return x, np.where(mask, y, 0), mask

    x, y, mask = draw(n_samples)
    x_ho, y_ho, mask_ho = draw(n_holdout)

    if has_rare and rare_test_samples > 0:
        rare_weight = n_samples * city_prior[city, rare_class]
        owner = rng.choice(n_clients, size=rare_test_samples, p=rare_weight / rare_weight.sum())
        x_rare = ((class_means[rare_class] + city_shifts[city[owner]] + offsets[owner, rare_class]
                   + feature_sd * rng.standard_normal((rare_test_samples, n_features))) * gain[owner, 0]
                  ).astype(np.float32)
    else:
        x_rare = np.zeros((0, n_features), dtype=np.float32)

    description = (
        f"Dirichlet(alpha={alpha:g}) label skew, {n_cities} cities "
        f"(city_alpha={city_alpha:g}, shift={city_shift:g})"
        + (f", rare class {rare_class} prior {rare_prior:g}" if has_rare else "")
    )
    return FederatedDataset(
        x=x, y=y, mask=mask, n_samples=n_samples,
        x_holdout=x_ho, y_holdout=y_ho, holdout_mask=mask_ho,
        city=city, link_quality=link_quality, x_rare_test=x_rare,
        n_classes=n_classes, rare_class=rare_class, description=description,
    )
