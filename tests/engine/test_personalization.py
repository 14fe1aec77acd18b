"""Tests of the personalization-accuracy model: it really trains, and the method ordering
emerges from training rather than from a table."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgequest.engine import personalization as pz
from edgequest.engine.personalization import (
    LAYER_SIZES,
    METHODS,
    PersonalizationResult,
    base_param_count,
    personalize,
    trainable_param_count,
)

SEEDS = range(6)  # the first six seeds, not chosen


def _run(method: str, seed: int, **kwargs) -> PersonalizationResult:
    return personalize(method=method, rng=np.random.default_rng(seed), **kwargs)


@pytest.fixture(scope="module")
def sweep() -> dict[str, list[PersonalizationResult]]:
    """Every method of interest at the default settings, over the same seeds."""
    configs = {
        "none": dict(method="none"),
        "bias": dict(method="bias"),
        "last_k1": dict(method="last_k", layers=1),
        "tinytl": dict(method="tinytl", rank=4),
        "full": dict(method="full"),
        **{f"lora{r}": dict(method="lora", rank=r) for r in (1, 2, 4, 8, 16)},
    }
    return {
        name: [_run(seed=seed, **cfg) for seed in SEEDS] for name, cfg in configs.items()
    }


def _mean_accuracy(results: list[PersonalizationResult]) -> float:
    return float(np.mean([r.accuracy_after for r in results]))


# --------------------------------------------------------------------------- the ordering


def test_adapting_beats_bias_only_beats_no_adaptation(sweep):
    none, bias = _mean_accuracy(sweep["none"]), _mean_accuracy(sweep["bias"])
    full, lora16 = _mean_accuracy(sweep["full"]), _mean_accuracy(sweep["lora16"])
    assert bias > none + 0.03, (none, bias)
    assert full > bias + 0.03, (bias, full)
    assert lora16 > bias + 0.03, (bias, lora16)


def test_ordering_holds_seed_by_seed_for_a_majority(sweep):
    pairs = [("bias", "none"), ("full", "bias"), ("lora16", "bias")]
    for better, worse in pairs:
        wins = sum(
            b.accuracy_after > w.accuracy_after
            for b, w in zip(sweep[better], sweep[worse])
        )
        assert wins > len(SEEDS) / 2, (better, worse, wins)


def test_lora_accuracy_grows_with_rank_on_average(sweep):
    ranks = np.array([1, 2, 4, 8, 16])
    means = np.array([_mean_accuracy(sweep[f"lora{r}"]) for r in ranks])
    slope = np.polyfit(np.log2(ranks), means, 1)[0]
    assert slope > 0.0, means
    assert means[-1] > means[0], means
    # Weakly increasing: no doubling of the rank costs more than a point of accuracy.
    assert np.all(np.diff(means) > -0.01), means


def test_no_adaptation_changes_nothing(sweep):
    for r in sweep["none"]:
        assert r.accuracy_after == r.accuracy_before
        assert r.base_accuracy_after == r.base_accuracy_before
        assert r.trainable_params == 0


def test_the_shift_hurts_the_base_model(sweep):
    # Held-out user accuracy of the shipped model is well below its base accuracy.
    drop = np.mean([r.base_accuracy_before - r.accuracy_before for r in sweep["none"]])
    assert drop > 0.15


def test_few_user_samples_let_full_fine_tuning_overfit_and_forget(sweep):
    full = sweep["full"]
    assert np.mean([r.generalization_gap for r in full]) > 0.15
    # Bias-only moves 72 parameters, so it forgets the base task less than full.
    assert np.mean([r.forgetting for r in full]) > np.mean(
        [r.forgetting for r in sweep["bias"]]
    )


def test_more_user_data_helps_full_fine_tuning():
    few = np.mean([_run("full", s, user_samples=16).accuracy_after for s in SEEDS])
    many = np.mean([_run("full", s, user_samples=128).accuracy_after for s in SEEDS])
    assert many > few + 0.03, (few, many)


def _bayes_accuracy(seed: int, n: int = 4000) -> float:
    """Accuracy of the Bayes-optimal classifier on the base world of ``seed`` (the world is
    the first thing ``personalize`` draws)."""
    rng = np.random.default_rng(seed)
    base = pz._base_distribution(LAYER_SIZES[0], LAYER_SIZES[-1], rng)
    x, labels = base.sample(n, np.random.default_rng(10_000 + seed))
    sq = ((x[:, None, None, :] - base.mode_means[None]) ** 2).sum(axis=-1)
    log_lik = np.logaddexp.reduce(-0.5 * sq, axis=2)  # equal mode weights, equal priors
    return float(np.mean(log_lik.argmax(axis=1) == labels))


def test_pretraining_gets_close_to_the_bayes_optimal_classifier(sweep):
    gaps = [_bayes_accuracy(seed) - r.base_accuracy_before for seed, r in zip(SEEDS, sweep["none"])]
    assert np.mean(gaps) < 0.08, gaps
    assert max(gaps) < 0.15, gaps


def test_without_a_shift_the_base_model_already_fits_the_user():
    for seed in SEEDS[:3]:
        r = _run("none", seed, shift=0.0)
        assert abs(r.accuracy_before - r.base_accuracy_before) < 0.07


def test_fine_tuning_lowers_the_training_loss(sweep):
    for name in ("full", "bias", "lora4", "tinytl", "last_k1"):
        for r in sweep[name]:
            assert len(r.train_loss) == 61
            assert r.train_loss[-1] < 0.8 * r.train_loss[0], name


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("method", "kwargs", "expected"),
    [
        # Written out from LAYER_SIZES = (16, 32, 32, 8).
        ("none", {}, 0),
        ("full", {}, (16 * 32 + 32) + (32 * 32 + 32) + (32 * 8 + 8)),
        ("last_k", {"layers": 1}, 32 * 8 + 8),
        ("last_k", {"layers": 2}, (32 * 32 + 32) + (32 * 8 + 8)),
        ("bias", {}, 32 + 32 + 8),
        ("lora", {"rank": 4}, 4 * ((16 + 32) + (32 + 32) + (32 + 8))),
        ("lora", {"rank": 2, "targets": (0,)}, 2 * (16 + 32)),
        ("lora", {"rank": 8, "targets": (0, 2)}, 8 * ((16 + 32) + (32 + 8))),
        ("tinytl", {"rank": 4}, (32 + 32 + 8) + 4 * ((16 + 32) + (32 + 32) + (32 + 8))),
        ("tinytl", {"rank": 1, "targets": (1,)}, (32 + 32 + 8) + 1 * (32 + 32)),
    ],
)
def test_trainable_params_match_the_method_formula(method, kwargs, expected):
    assert LAYER_SIZES == (16, 32, 32, 8)
    assert trainable_param_count(method, **kwargs) == expected
    result = _run(method, 0, steps=2, **kwargs)
    assert result.trainable_params == expected
    assert result.total_params == base_param_count() == 1864


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=2, max_size=5).map(tuple),
    method=st.sampled_from(METHODS),
    rank=st.integers(1, 16),
    data=st.data(),
)
def test_the_network_trains_exactly_the_counted_parameters(sizes, method, rank, data):
    n_layers = len(sizes) - 1
    layers = data.draw(st.integers(1, n_layers))
    targets = tuple(
        sorted(data.draw(st.sets(st.integers(0, n_layers - 1), min_size=1)))
    )
    rng = np.random.default_rng(0)
    weights = [np.zeros((a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(b) for b in sizes[1:]]
    net = pz._Net(sizes, weights, biases, method, rank, layers, targets, rng)
    expected = trainable_param_count(
        method, rank=rank, layers=layers, targets=targets, layer_sizes=sizes
    )
    assert net.theta.size == expected


def test_a_smaller_network_also_personalizes():
    r = _run("lora", 0, rank=8, layer_sizes=(16, 24, 8))
    assert r.total_params == base_param_count((16, 24, 8)) == 16 * 24 + 24 + 24 * 8 + 8
    assert r.accuracy_after > r.accuracy_before


def test_lora_params_grow_linearly_with_rank():
    counts = [trainable_param_count("lora", rank=r) for r in (1, 2, 4, 8)]
    assert counts == [counts[0] * r for r in (1, 2, 4, 8)]


# --------------------------------------------------------------------------- mechanics


def test_same_seed_gives_identical_results():
    a = _run("tinytl", 3, rank=2)
    b = _run("tinytl", 3, rank=2)
    assert a == b


def test_methods_share_the_world_for_a_seed():
    # The draw order puts method-specific draws last, so comparisons are paired.
    before = {_run(m, 4, steps=1).accuracy_before for m in METHODS}
    assert len(before) == 1


@pytest.mark.parametrize("method", ["lora", "tinytl"])
def test_zero_initialised_adapters_start_at_the_base_model(method):
    r = _run(method, 2, steps=0, rank=8)
    assert r.accuracy_after == r.accuracy_before
    assert r.base_accuracy_after == r.base_accuracy_before


@pytest.mark.parametrize(
    ("method", "rank", "layers", "targets"),
    [
        ("full", 1, 1, (0, 1, 2)),
        ("last_k", 1, 2, (0, 1, 2)),
        ("bias", 1, 1, (0, 1, 2)),
        ("lora", 3, 1, (0, 2)),
        ("tinytl", 2, 1, (0, 1, 2)),
    ],
)
def test_backpropagation_matches_finite_differences(method, rank, layers, targets):
    rng = np.random.default_rng(11)
    weights = [rng.standard_normal((a, b)) * 0.5 for a, b in zip(LAYER_SIZES[:-1], LAYER_SIZES[1:])]
    biases = [rng.standard_normal(b) * 0.1 for b in LAYER_SIZES[1:]]
    net = pz._Net(LAYER_SIZES, weights, biases, method, rank, layers, targets, rng)
    # Move every trainable entry away from its initial value (B = 0 would hide paths).
    net.theta[:] = rng.standard_normal(net.theta.size) * 0.3
    x = rng.standard_normal((20, LAYER_SIZES[0]))
    labels = rng.integers(0, LAYER_SIZES[-1], size=20)
    onehot = np.eye(LAYER_SIZES[-1])[labels]
    net.loss_and_grad(x, onehot)
    analytic = net.grad.copy()
    eps = 1e-6
    for i in rng.choice(net.theta.size, size=min(40, net.theta.size), replace=False):
        saved = net.theta[i]
        net.theta[i] = saved + eps
        up = net.loss_and_grad(x, onehot)
        net.theta[i] = saved - eps
        down = net.loss_and_grad(x, onehot)
        net.theta[i] = saved
        numeric = (up - down) / (2 * eps)
        assert numeric == pytest.approx(analytic[i], rel=1e-4, abs=1e-7), (method, i)


def test_frozen_weights_stay_frozen_under_lora():
    rng = np.random.default_rng(5)
    weights = [rng.standard_normal((a, b)) for a, b in zip(LAYER_SIZES[:-1], LAYER_SIZES[1:])]
    biases = [np.zeros(b) for b in LAYER_SIZES[1:]]
    net = pz._Net(LAYER_SIZES, weights, biases, "lora", 4, 1, (0, 1, 2), rng)
    x = rng.standard_normal((30, LAYER_SIZES[0]))
    net.train(x, rng.integers(0, LAYER_SIZES[-1], size=30), steps=5, lr=0.01)
    for before, after in zip(weights, net.w):
        assert np.array_equal(before, after)
    assert np.any(net.up[0] != 0.0)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"method": "adapter"}, "method"),
        ({"method": "lora", "rank": 0}, "rank"),
        ({"method": "lora", "rank": 2.5}, "rank"),
        ({"method": "last_k", "layers": 4}, "layers"),
        ({"method": "lora", "targets": (3,)}, "targets"),
        ({"method": "lora", "targets": (0, 0)}, "targets"),
        ({"method": "lora", "targets": ()}, "targets"),
        ({"method": "full", "user_samples": 0}, "user_samples"),
        ({"method": "full", "shift": -0.1}, "shift"),
        ({"method": "full", "shift": float("nan")}, "shift"),
        ({"method": "full", "steps": -1}, "steps"),
        ({"method": "full", "lr": 0.0}, "lr"),
        ({"method": "full", "layer_sizes": (16,)}, "layer_sizes"),
    ],
)
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}: got"):
        personalize(rng=np.random.default_rng(0), **kwargs)


def test_rng_must_be_a_generator():
    with pytest.raises(ValueError, match="^rng: got"):
        personalize(method="full", rng=0)


def test_a_fixed_world_gives_every_player_the_same_user_and_varies_only_the_adapters():
    common = dict(method="lora", rank=4, world_seed=1234)
    a = personalize(rng=np.random.default_rng(1), **common)
    b = personalize(rng=np.random.default_rng(2), **common)
    again = personalize(rng=np.random.default_rng(1), **common)
    assert a == again  # memoised world, same adapter draw: identical
    assert a.accuracy_before == b.accuracy_before  # same user, same pretrained model
    assert a.trainable_params == b.trainable_params
    # Passing the world's seed is the same as drawing the world from that generator.
    none_fixed = personalize(method="none", rng=np.random.default_rng(1), world_seed=77)
    none_drawn = personalize(method="none", rng=np.random.default_rng(77))
    assert none_fixed.accuracy_after == none_drawn.accuracy_after


def test_world_seed_is_validated():
    with pytest.raises(ValueError, match="world_seed"):
        personalize(method="bias", rng=np.random.default_rng(0), world_seed=-1)
