"""Tests of the federated data generators (FedProx Synthetic, Dirichlet cities)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgequest.engine.federated_data import (
    FederatedDataset,
    city_fleet,
    client_sample_counts,
    synthetic_fleet,
)


def _label_histograms(data: FederatedDataset) -> np.ndarray:
    """(clients, classes) share of each class in each client's training data."""
    counts = np.zeros((data.n_clients, data.n_classes))
    for k in range(data.n_clients):
        counts[k] = np.bincount(data.y[k, : data.n_samples[k]], minlength=data.n_classes)
    return counts / counts.sum(axis=1, keepdims=True)


def _mean_max_class_share(data: FederatedDataset) -> float:
    return float(_label_histograms(data).max(axis=1).mean())


@pytest.mark.parametrize("make", [
    lambda rng: synthetic_fleet(rng=rng),
    lambda rng: synthetic_fleet(iid=True, rng=rng),
    lambda rng: city_fleet(rng=rng),
])
def test_padded_layout_is_consistent(make) -> None:
    data = make(np.random.default_rng(3))
    n, width, d = data.x.shape
    assert data.y.shape == data.mask.shape == (n, width)
    assert data.x.dtype == np.float32 and data.y.dtype == np.int64
    assert np.array_equal(data.mask.sum(axis=1), data.n_samples)
    assert width == data.n_samples.max()
    # Real rows first, padding rows zero and labelled 0.
    assert np.array_equal(data.mask, np.arange(width)[None, :] < data.n_samples[:, None])
    assert np.all(data.x[~data.mask] == 0.0) and np.all(data.y[~data.mask] == 0)
    assert np.array_equal(data.holdout_mask.sum(axis=1) >= 2, np.ones(n, dtype=bool))
    assert data.x_test.shape == (data.holdout_mask.sum(), d)
    assert data.y_test.min() >= 0 and data.y_test.max() < data.n_classes
    assert data.x_train.shape == (data.n_samples.sum(), d)
    assert np.all(np.abs(data.link_quality) <= 1.0)


def test_arrays_are_read_only() -> None:
    data = city_fleet(rng=np.random.default_rng(0))
    with pytest.raises(ValueError):
        data.x[0, 0, 0] = 1.0
    with pytest.raises(ValueError):
        data.n_samples[0] = 5


@pytest.mark.parametrize("make", [synthetic_fleet, city_fleet])
def test_same_seed_same_data_other_seed_other_data(make) -> None:
    a = make(rng=np.random.default_rng(11))
    b = make(rng=np.random.default_rng(11))
    c = make(rng=np.random.default_rng(12))
    for name in ("x", "y", "mask", "x_holdout", "y_holdout", "link_quality", "x_rare_test"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.x_test[:50], c.x_test[:50])


def test_synthetic_iid_shares_one_labelling_model_and_feature_law() -> None:
    """FedProx Synthetic-IID: same W, b and x ~ N(0, Sigma) on every client."""
    iid = synthetic_fleet(iid=True, n_clients=60, rng=np.random.default_rng(1))
    # One global linear model labels every sample, so one softmax regression
    # fitted to the pooled data recovers it far better than it can fit data
    # labelled by a different model on each client (alpha = 2).
    def pooled_linear_fit_accuracy(data: FederatedDataset) -> float:
        x = np.c_[data.x_train, np.ones(len(data.y_train))].astype(np.float64)
        w = np.zeros((x.shape[1], data.n_classes))
        onehot = np.eye(data.n_classes)[data.y_train]
        for _ in range(3000):
            z = x @ w
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            w -= 2.0 * x.T @ (p - onehot) / len(x)
        best = np.argmax(x @ w, axis=1)
        return float(np.mean(best == data.y_train))

    hetero = synthetic_fleet(alpha=2.0, beta=0.0, n_clients=60, rng=np.random.default_rng(1))
    assert pooled_linear_fit_accuracy(iid) > pooled_linear_fit_accuracy(hetero) + 0.15
    # Feature means: zero for every IID client, spread out with beta.
    spread_iid = iid.x_train.mean(axis=0).std()
    wide = synthetic_fleet(alpha=0.0, beta=3.0, n_clients=60, rng=np.random.default_rng(1))
    client_means = np.array([wide.x[k, : wide.n_samples[k]].mean() for k in range(wide.n_clients)])
    iid_means = np.array([iid.x[k, : iid.n_samples[k]].mean() for k in range(iid.n_clients)])
    assert client_means.std() > 5 * iid_means.std()
    assert spread_iid < 0.2


def test_synthetic_feature_variances_decay_as_in_fedprox() -> None:
    data = synthetic_fleet(iid=True, n_clients=200, rng=np.random.default_rng(2))
    var = data.x_train.astype(np.float64).var(axis=0)
    expected = np.arange(1, data.n_features + 1) ** -1.2
    assert np.allclose(var, expected, rtol=0.15)


def test_smaller_alpha_means_more_label_skew() -> None:
    shares = [
        np.mean([_mean_max_class_share(city_fleet(alpha=a, rng=np.random.default_rng(s))) for s in range(3)])
        for a in (np.inf, 1.0, 0.1, 0.01)
    ]
    assert shares == sorted(shares)
    assert shares[-1] > 0.9  # nearly one class per client
    assert shares[0] < 0.4


def test_infinite_alpha_copies_the_city_mix() -> None:
    data = city_fleet(alpha=np.inf, n_clients=200, rng=np.random.default_rng(4))
    hist = _label_histograms(data)
    for c in range(data.n_cities):
        in_city = hist[data.city == c]
        # Clients of one city agree up to sampling noise; cities differ.
        assert np.abs(in_city - in_city.mean(axis=0)).mean() < 0.08
    city_mixes = np.array([hist[data.city == c].mean(axis=0) for c in range(data.n_cities)])
    assert np.abs(city_mixes - city_mixes.mean(axis=0)).max() > 0.05


def test_rare_class_is_rare_and_lives_mostly_in_dust_cities() -> None:
    shares, in_dust = [], []
    for seed in range(3):
        data = city_fleet(rare_prior=0.03, dust_cities=1, rare_in_dust_cities=0.9,
                          n_clients=150, rng=np.random.default_rng(seed))
        rare = data.y[data.mask] == data.rare_class
        shares.append(rare.mean())
        per_client = (data.y == data.rare_class).sum(axis=1) * 1.0
        in_dust.append(per_client[data.city == 0].sum() / per_client.sum())
        assert data.rare_class == data.n_classes - 1
        assert data.x_rare_test.shape == (400, data.n_features)
        # Dust cities have the poorest uplinks (project's assumption).
        assert data.link_quality[data.city == 0].mean() < data.link_quality[data.city != 0].mean()
    assert 0.015 < np.mean(shares) < 0.045
    assert np.mean(in_dust) > 0.7


def test_no_rare_class_when_prior_is_zero() -> None:
    data = city_fleet(rare_prior=0.0, rng=np.random.default_rng(0))
    assert data.rare_class is None
    assert data.x_rare_test.shape == (0, data.n_features)


def test_city_shift_moves_city_feature_means() -> None:
    def city_mean_spread(shift: float) -> float:
        data = city_fleet(alpha=np.inf, city_alpha=np.inf, city_shift=shift, rare_prior=0.0,
                          n_clients=200, rng=np.random.default_rng(5))
        means = np.array([data.x[data.city == c][data.mask[data.city == c]].mean(axis=0)
                          for c in range(data.n_cities)])
        return float(means.std(axis=0).mean())
    assert city_mean_spread(1.0) > 2 * city_mean_spread(0.0)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 300),
    low=st.integers(1, 20),
    extra=st.integers(0, 40),
    spread=st.floats(0.0, 2.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_sample_counts_stay_in_bounds(n, low, extra, spread, seed) -> None:
    high = low + extra
    counts = client_sample_counts(n, median=low, min_samples=low, max_samples=high,
                                  spread=spread, rng=np.random.default_rng(seed))
    assert counts.shape == (n,) and counts.min() >= low and counts.max() <= high


@settings(max_examples=15, deadline=None)
@given(
    n_clients=st.integers(2, 40),
    n_classes=st.integers(2, 12),
    n_features=st.integers(2, 12),
    alpha=st.sampled_from([0.001, 0.05, 1.0, 50.0, float("inf")]),
    rare=st.sampled_from([0.0, 0.05]),
    seed=st.integers(0, 2**32 - 1),
)
def test_city_fleet_labels_valid_for_any_setting(n_clients, n_classes, n_features, alpha, rare, seed) -> None:
    data = city_fleet(n_clients=n_clients, n_classes=n_classes, n_features=n_features,
                      n_cities=min(3, n_clients), alpha=alpha, rare_prior=rare,
                      rng=np.random.default_rng(seed))
    assert data.y.min() >= 0 and data.y.max() < n_classes
    assert np.all(np.isfinite(data.x))
    assert np.array_equal(data.mask.sum(axis=1), data.n_samples)


@pytest.mark.parametrize("kwargs, word", [
    (dict(alpha=-1.0), "alpha"),
    (dict(alpha=float("nan")), "alpha"),
    (dict(n_clients=1), "n_clients"),
    (dict(min_samples=10, max_samples=5), "max_samples"),
    (dict(holdout_fraction=0.0), "holdout_fraction"),
    (dict(n_features=2.5), "n_features"),
])
def test_synthetic_rejects_bad_arguments(kwargs, word) -> None:
    with pytest.raises(ValueError, match=word):
        synthetic_fleet(rng=np.random.default_rng(0), **kwargs)


@pytest.mark.parametrize("kwargs, word", [
    (dict(alpha=0.0), "alpha"),
    (dict(n_cities=0), "n_cities"),
    (dict(dust_cities=9), "dust_cities"),
    (dict(rare_prior=0.9), "rare_prior"),
    (dict(city_shift=-1.0), "city_shift"),
    (dict(rare_prior=0.3, n_cities=5, dust_cities=1), "rare_prior"),
])
def test_city_fleet_rejects_bad_arguments(kwargs, word) -> None:
    with pytest.raises(ValueError, match=word):
        city_fleet(rng=np.random.default_rng(0), **kwargs)


def test_rng_must_be_a_generator() -> None:
    with pytest.raises(ValueError, match="rng"):
        city_fleet(rng=np.random.RandomState(0))  # type: ignore[arg-type]  # the legacy generator, refused on purpose
