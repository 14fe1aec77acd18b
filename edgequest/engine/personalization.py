"""Personalization accuracy: fine-tune a small pretrained network on one user's shifted data.

The model behind part 1's accuracy axis. A small multilayer perceptron is pre-trained on a
*base* distribution (the fleet's data), then adapted to a *user* distribution (an accent, a
dust storm, a hearing-aid wearer's noise profile) using only the parameters that the chosen
method makes trainable. Accuracy is measured on held-out user data, and forgetting on
held-out base data; nothing is typed in.

The world (a Gaussian mixture, two modes per class) and the user's shift are synthetic but
built so that each adaptation method has something real to fix or miss:

* a rotation of the input space in a few planes (a change of "channel": microphone, accent,
  sensor). Undoing it needs the first weight matrix; ``R - I`` has rank ``2 * planes``, so a
  LoRA adapter of that rank on the first layer can undo it exactly, a smaller rank only in
  part;
* an offset of every input (a DC bias, a dust haze): the first layer's bias can absorb it
  exactly, since ``W (x + o) + b = W x + (W o + b)``;
* a changed class prior (this user says some words more often): the head's bias absorbs it;
* a small per-mode displacement that no single low-rank map fixes.

Methods (which parameters receive gradients):

* ``none``   -- no adaptation (the pretrained model as shipped);
* ``full``   -- every weight and bias;
* ``last_k`` -- weights and biases of the last ``layers`` layers;
* ``lora``   -- rank-``rank`` adapters ``W + (alpha / r) A @ B`` on the ``targets`` weight
  matrices, ``A`` Gaussian and ``B`` zero at the start, base weights frozen
  (Hu et al., "LoRA", ICLR 2022, section 4.1);
* ``bias``   -- biases only (BitFit, Ben Zaken et al. 2022; TinyTL's "bias only" row);
* ``tinytl`` -- biases plus a lite residual branch ``relu(h @ D) @ U`` of width ``rank`` added
  to the pre-activation of each ``targets`` layer, ``U`` zero at the start so the branch
  starts silent (Cai et al., "TinyTL", NeurIPS 2020, section 3.2; their residual is a
  narrow, down-sampled convolution whose last normalisation is initialised to zero).

Training is Adam (Kingma and Ba, ICLR 2015) with explicit backpropagation in float64:
pre-training takes two passes of mini-batches over 4,096 base samples (twice the
network's parameters, so the base model generalises; Gaussian draws are a large share of
the time), fine-tuning takes full-batch steps over the user's few samples. The
sizes are chosen so that a whole call (pre-train + fine-tune + evaluate, about 10-15 ms on
the reference 2-core machine) fits part 1's 50 ms run budget with room for the memory model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from edgequest.engine.checks import is_int as _is_int
from edgequest.engine.checks import is_real as _is_real

METHODS: tuple[str, ...] = ("none", "full", "last_k", "lora", "bias", "tinytl")

# Network: 16 input features -> 32 -> 32 -> 8 classes, ReLU, softmax head.
LAYER_SIZES: tuple[int, ...] = (16, 32, 32, 8)

# The synthetic world. Means are in units of the per-feature noise standard deviation.
MODES_PER_CLASS = 2
MODE_SPREAD = 1.0  # std of a mode mean per feature
EVAL_SAMPLES = 512
PRETRAIN_SAMPLES = 4096
PRETRAIN_STEPS = 64  # two passes over the samples
PRETRAIN_BATCH = 128
PRETRAIN_LR = 0.02

# The user's shift at ``shift = 1`` (the strength scales every term linearly).
ROTATION_PLANES = 4  # R - I has rank 8
ROTATION_ANGLE_RAD = 1.2  # about 69 degrees in each plane
OFFSET_NORM = 1.5
PRIOR_TILT = 1.0  # user prior proportional to exp(shift * PRIOR_TILT * z), z ~ N(0, 1)
MODE_JITTER = 0.25

# LoRA scaling alpha / r with alpha fixed across ranks, as Hu et al. do (section 4.1).
LORA_ALPHA = 4.0

ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8

MAX_RANK = 64
MAX_STEPS = 2000
MAX_USER_SAMPLES = 10_000
MAX_SHIFT = 5.0


@dataclass(frozen=True)
class PersonalizationResult:
    """What one personalization run measured.

    Accuracies are fractions in [0, 1] on held-out samples (``EVAL_SAMPLES`` each from the
    user's and the base distribution). ``train_loss`` is the mean cross-entropy (nats) on
    the user's training samples before each Adam step and after the last one (``steps + 1``
    values; a single value when nothing is trainable).
    """

    method: str
    trainable_params: int
    total_params: int
    accuracy_before: float
    accuracy_after: float
    base_accuracy_before: float
    base_accuracy_after: float
    user_train_accuracy: float
    train_loss: tuple[float, ...]

    @property
    def accuracy_gain(self) -> float:
        """Held-out user accuracy gained by adapting (fraction, may be negative)."""
        return self.accuracy_after - self.accuracy_before

    @property
    def forgetting(self) -> float:
        """Base accuracy lost by adapting (fraction; positive means forgotten)."""
        return self.base_accuracy_before - self.base_accuracy_after

    @property
    def generalization_gap(self) -> float:
        """User train accuracy minus held-out user accuracy: large means overfitting."""
        return self.user_train_accuracy - self.accuracy_after


# --------------------------------------------------------------------------- counting


def base_param_count(layer_sizes: tuple[int, ...] = LAYER_SIZES) -> int:
    """Weights plus biases of the base MLP."""
    return sum(a * b + b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))


def trainable_param_count(
    method: str,
    *,
    rank: int = 4,
    layers: int = 1,
    targets: tuple[int, ...] | None = None,
    layer_sizes: tuple[int, ...] = LAYER_SIZES,
) -> int:
    """Parameters that receive gradients under ``method``.

    LoRA: ``r (d_in + d_out)`` per adapted matrix (Hu et al. 2022, section 4.2). TinyTL:
    every bias plus the lite residual's ``r (d_in + d_out)`` per targeted layer.
    """
    method, rank, layers, targets = _check_method_args(method, rank, layers, targets, layer_sizes)
    return _count(method, rank, layers, targets, layer_sizes)


def _count(
    method: str, rank: int, layers: int, targets: tuple[int, ...], sizes: tuple[int, ...]
) -> int:
    dims = list(zip(sizes[:-1], sizes[1:]))
    n_layers = len(dims)
    if method == "none":
        return 0
    if method == "full":
        return base_param_count(sizes)
    if method == "last_k":
        return sum(a * b + b for a, b in dims[n_layers - layers :])
    biases = sum(b for _, b in dims)
    low_rank = sum(rank * (dims[t][0] + dims[t][1]) for t in targets)
    if method == "lora":
        return low_rank
    if method == "bias":
        return biases
    return biases + low_rank  # tinytl


# --------------------------------------------------------------------------- validation


def _check_method_args(
    method: str,
    rank: int,
    layers: int,
    targets: tuple[int, ...] | None,
    layer_sizes: tuple[int, ...],
) -> tuple[str, int, int, tuple[int, ...]]:
    if method not in METHODS:
        raise ValueError(f"method: got {method!r}; accepted: {', '.join(METHODS)}")
    if (
        not isinstance(layer_sizes, tuple)
        or len(layer_sizes) < 2
        or any(not _is_int(s) or not 1 <= s <= 512 for s in layer_sizes)
    ):
        raise ValueError(
            f"layer_sizes: got {layer_sizes!r}; accepted: a tuple of at least two integers "
            "in 1..512"
        )
    n_layers = len(layer_sizes) - 1
    if not _is_int(rank) or not 1 <= rank <= MAX_RANK:
        raise ValueError(f"rank: got {rank!r}; accepted: an integer in 1..{MAX_RANK}")
    if not _is_int(layers) or not 1 <= layers <= n_layers:
        raise ValueError(f"layers: got {layers!r}; accepted: an integer in 1..{n_layers}")
    if targets is None:
        targets = tuple(range(n_layers))
    if (
        not isinstance(targets, tuple)
        or not targets
        or any(not _is_int(t) or not 0 <= t < n_layers for t in targets)
        or len(set(targets)) != len(targets)
    ):
        raise ValueError(
            f"targets: got {targets!r}; accepted: a non-empty tuple of distinct layer "
            f"indices in 0..{n_layers - 1}"
        )
    return method, int(rank), int(layers), tuple(sorted(int(t) for t in targets))


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class _Distribution:
    """A Gaussian mixture seen through an affine map: x = (mu[class, mode] + noise) R^T + o.

    Row vectors throughout. ``rotation=None`` means the identity (the base distribution),
    which saves pre-training a large matrix product.
    """

    mode_means: np.ndarray  # (classes, modes, features)
    class_prior: np.ndarray  # (classes,)
    rotation: np.ndarray | None  # (features, features), orthogonal
    offset: np.ndarray | None  # (features,)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` labelled samples: class from the prior, mode uniform, unit Gaussian noise."""
        classes, modes, features = self.mode_means.shape
        cdf = np.cumsum(self.class_prior)
        labels = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), classes - 1)
        mode = rng.integers(0, modes, size=n)
        # Single-precision draws are about twice as fast; the sum is float64 again.
        noise = rng.standard_normal((n, features), dtype=np.float32)
        x = self.mode_means[labels, mode] + noise
        if self.rotation is not None:
            x = x @ self.rotation.T
        if self.offset is not None:
            x += self.offset
        return x, labels


def _base_distribution(features: int, classes: int, rng: np.random.Generator) -> _Distribution:
    means = rng.standard_normal((classes, MODES_PER_CLASS, features)) * MODE_SPREAD
    return _Distribution(
        mode_means=means,
        class_prior=np.full(classes, 1.0 / classes),
        rotation=None,
        offset=None,
    )


def _user_distribution(
    base: _Distribution, shift: float, rng: np.random.Generator
) -> _Distribution:
    """The user's distribution: the base seen through the shift described in the module doc."""
    classes, modes, features = base.mode_means.shape
    basis, _ = np.linalg.qr(rng.standard_normal((features, features)))
    angle = shift * ROTATION_ANGLE_RAD
    rotation = np.eye(features)
    for j in range(min(ROTATION_PLANES, features // 2)):
        a, b = basis[:, 2 * j], basis[:, 2 * j + 1]
        # A Givens rotation by `angle` in the plane spanned by the orthonormal pair (a, b).
        rotation += (np.cos(angle) - 1.0) * (np.outer(a, a) + np.outer(b, b))
        rotation += np.sin(angle) * (np.outer(b, a) - np.outer(a, b))
    direction = rng.standard_normal(features)
    offset = shift * OFFSET_NORM * direction / np.linalg.norm(direction)
    logits = shift * PRIOR_TILT * rng.standard_normal(classes)
    prior = np.exp(logits - logits.max())
    jitter = shift * MODE_JITTER * rng.standard_normal((classes, modes, features))
    return _Distribution(
        mode_means=base.mode_means + jitter,
        class_prior=prior / prior.sum(),
        rotation=rotation,
        offset=offset,
    )


# --------------------------------------------------------------------------- the network


class _Net:
    """An MLP whose tensors are views into two flat buffers, trainable and frozen.

    Keeping every trainable tensor in one flat vector makes an Adam step a handful of
    vector operations, whatever the method. This object lives inside one call only.
    """

    def __init__(
        self,
        sizes: tuple[int, ...],
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        method: str,
        rank: int,
        layers: int,
        targets: tuple[int, ...],
        rng: np.random.Generator | None,
    ) -> None:
        dims = list(zip(sizes[:-1], sizes[1:]))
        n_layers = len(dims)
        self.n_layers = n_layers
        train_w = [False] * n_layers
        train_b = [False] * n_layers
        lora = [False] * n_layers
        residual = [False] * n_layers
        if method == "full":
            train_w = [True] * n_layers
            train_b = [True] * n_layers
        elif method == "last_k":
            for layer in range(n_layers - layers, n_layers):
                train_w[layer] = train_b[layer] = True
        elif method == "bias":
            train_b = [True] * n_layers
        elif method == "lora":
            for layer in targets:
                lora[layer] = True
        elif method == "tinytl":
            train_b = [True] * n_layers
            for layer in targets:
                residual[layer] = True
        self.train_w, self.train_b, self.lora, self.residual = train_w, train_b, lora, residual

        # Lay out the trainable buffer: (name, layer, shape) in a fixed order.
        layout: list[tuple[str, int, tuple[int, int] | tuple[int]]] = []
        for layer, (d_in, d_out) in enumerate(dims):
            if train_w[layer]:
                layout.append(("w", layer, (d_in, d_out)))
            if train_b[layer]:
                layout.append(("b", layer, (d_out,)))
            if lora[layer] or residual[layer]:
                layout.append(("down", layer, (d_in, rank)))
                layout.append(("up", layer, (rank, d_out)))
        total = sum(int(np.prod(shape)) for _, _, shape in layout)
        self.theta = np.zeros(total)
        self.grad = np.zeros(total)
        self.w: list[np.ndarray] = [w.copy() for w in weights]
        self.b: list[np.ndarray] = [b.copy() for b in biases]
        self.down: list[np.ndarray | None] = [None] * n_layers
        self.up: list[np.ndarray | None] = [None] * n_layers
        self.g_w: list[np.ndarray | None] = [None] * n_layers
        self.g_b: list[np.ndarray | None] = [None] * n_layers
        self.g_down: list[np.ndarray | None] = [None] * n_layers
        self.g_up: list[np.ndarray | None] = [None] * n_layers
        start = 0
        for name, layer, shape in layout:
            size = int(np.prod(shape))
            view = self.theta[start : start + size].reshape(shape)
            gview = self.grad[start : start + size].reshape(shape)
            start += size
            if name == "w":
                view[...] = weights[layer]
                self.w[layer], self.g_w[layer] = view, gview
            elif name == "b":
                view[...] = biases[layer]
                self.b[layer], self.g_b[layer] = view, gview
            elif name == "down":
                assert rng is not None
                d_in = shape[0]
                # Gaussian down-projection, zero up-projection: the adapted network starts
                # equal to the base one (Hu et al. 2022, section 4.1; TinyTL's zero-init).
                view[...] = rng.standard_normal(shape) / np.sqrt(d_in)
                self.down[layer], self.g_down[layer] = view, gview
            else:
                self.up[layer], self.g_up[layer] = view, gview
        self.lora_scale = LORA_ALPHA / rank
        trainable_layers = [
            i for i in range(n_layers) if train_w[i] or train_b[i] or lora[i] or residual[i]
        ]
        # Backpropagation stops at the lowest layer that has something to train.
        self.lowest = min(trainable_layers) if trainable_layers else n_layers

    def effective_weights(self) -> list[np.ndarray]:
        out = []
        for layer in range(self.n_layers):
            if self.lora[layer]:
                out.append(self.w[layer] + self.lora_scale * (self.down[layer] @ self.up[layer]))
            else:
                out.append(self.w[layer])
        return out

    def logits(self, x: np.ndarray) -> np.ndarray:
        weights = self.effective_weights()
        h = x
        for layer in range(self.n_layers):
            z = h @ weights[layer] + self.b[layer]
            if self.residual[layer]:
                z += np.maximum(h @ self.down[layer], 0.0) @ self.up[layer]
            h = np.maximum(z, 0.0) if layer < self.n_layers - 1 else z
        return h

    def loss_and_grad(self, x: np.ndarray, onehot: np.ndarray) -> float:
        """Mean softmax cross-entropy (nats); writes its gradient into ``self.grad``."""
        weights = self.effective_weights()
        inputs: list[np.ndarray] = []
        hidden: list[np.ndarray | None] = []
        h = x
        for layer in range(self.n_layers):
            inputs.append(h)
            z = h @ weights[layer] + self.b[layer]
            if self.residual[layer]:
                u = np.maximum(h @ self.down[layer], 0.0)
                z += u @ self.up[layer]
                hidden.append(u)
            else:
                hidden.append(None)
            h = np.maximum(z, 0.0) if layer < self.n_layers - 1 else z
        # ufunc.reduce directly: the np.sum / ndarray.max wrappers cost more than the work
        # at these sizes.
        z = h - np.maximum.reduce(h, axis=1, keepdims=True)
        log_norm = np.log(np.add.reduce(np.exp(z), axis=1, keepdims=True))
        log_p = z - log_norm
        n = x.shape[0]
        loss = -float(np.add.reduce((log_p * onehot).ravel())) / n
        dz = (np.exp(log_p) - onehot) / n
        for layer in range(self.n_layers - 1, self.lowest - 1, -1):
            h_in = inputs[layer]
            if self.train_w[layer]:
                np.matmul(h_in.T, dz, out=self.g_w[layer])
            if self.train_b[layer]:
                np.add.reduce(dz, axis=0, out=self.g_b[layer])
            if self.lora[layer]:
                g_eff = h_in.T @ dz  # gradient w.r.t. the merged weight
                np.matmul(g_eff, self.up[layer].T, out=self.g_down[layer])
                self.g_down[layer] *= self.lora_scale
                np.matmul(self.down[layer].T, g_eff, out=self.g_up[layer])
                self.g_up[layer] *= self.lora_scale
            du = None
            if self.residual[layer]:
                u = hidden[layer]
                np.matmul(u.T, dz, out=self.g_up[layer])
                du = (dz @ self.up[layer].T) * (u > 0.0)
                np.matmul(h_in.T, du, out=self.g_down[layer])
            if layer > self.lowest:
                dh = dz @ weights[layer].T
                if du is not None:
                    dh += du @ self.down[layer].T
                dz = dh * (h_in > 0.0)  # h_in = relu(z_prev), so h_in > 0 iff z_prev > 0
        return loss

    def train(self, x: np.ndarray, labels: np.ndarray, steps: int, lr: float) -> list[float]:
        """Full-batch Adam on the trainable buffer; returns the loss before each step and
        after the last."""
        onehot = np.zeros((x.shape[0], self.w[-1].shape[1]))
        onehot[np.arange(x.shape[0]), labels] = 1.0
        losses: list[float] = []
        if self.theta.size == 0:
            losses.append(self.loss_and_grad(x, onehot))
            return losses
        m = np.zeros_like(self.theta)
        v = np.zeros_like(self.theta)
        for t in range(1, steps + 1):
            losses.append(self.loss_and_grad(x, onehot))
            g = self.grad
            m *= ADAM_BETA1
            m += (1.0 - ADAM_BETA1) * g
            v *= ADAM_BETA2
            v += (1.0 - ADAM_BETA2) * (g * g)
            # Bias-corrected step size (Kingma and Ba 2015, Algorithm 1, final form).
            step = lr * np.sqrt(1.0 - ADAM_BETA2**t) / (1.0 - ADAM_BETA1**t)
            self.theta -= step * m / (np.sqrt(v) + ADAM_EPS)
        losses.append(self.loss_and_grad(x, onehot))
        return losses

    def accuracy(self, x: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.logits(x).argmax(axis=1) == labels))


def _pretrain(
    sizes: tuple[int, ...], x: np.ndarray, labels: np.ndarray, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Train the base MLP from a He initialisation with ``PRETRAIN_STEPS`` steps of
    mini-batch Adam, cycling through ``x`` in batches of ``PRETRAIN_BATCH``.

    Each layer keeps its bias as the last row of an augmented weight matrix acting on
    ``[h, 1]``: this is the same network as ``_Net`` with fewer array operations per
    step, which is what pre-training's time budget needs.
    """
    dims = list(zip(sizes[:-1], sizes[1:]))
    n_layers = len(dims)
    total = sum((a + 1) * b for a, b in dims)
    theta = np.zeros(total)
    grad = np.zeros(total)
    w_aug: list[np.ndarray] = []
    g_aug: list[np.ndarray] = []
    start = 0
    for d_in, d_out in dims:
        size = (d_in + 1) * d_out
        w = theta[start : start + size].reshape(d_in + 1, d_out)
        # He et al. (ICCV 2015) initialisation for ReLU layers; biases start at zero.
        w[:d_in] = rng.standard_normal((d_in, d_out)) * np.sqrt(2.0 / d_in)
        w_aug.append(w)
        g_aug.append(grad[start : start + size].reshape(d_in + 1, d_out))
        start += size
    batch = PRETRAIN_BATCH
    # Activation buffers [h, 1], reused every step.
    acts = [np.ones((batch, d_in + 1)) for d_in, _ in dims]
    onehot = np.zeros((x.shape[0], sizes[-1]))
    onehot[np.arange(x.shape[0]), labels] = 1.0
    m = np.zeros(total)
    v = np.zeros(total)
    batches = x.shape[0] // batch
    for t in range(1, PRETRAIN_STEPS + 1):
        first = ((t - 1) % batches) * batch
        rows = slice(first, first + batch)
        acts[0][:, :-1] = x[rows]
        for layer in range(n_layers - 1):
            np.maximum(acts[layer] @ w_aug[layer], 0.0, out=acts[layer + 1][:, :-1])
        z = acts[-1] @ w_aug[-1]
        z -= np.maximum.reduce(z, axis=1, keepdims=True)
        p = np.exp(z, out=z)
        p /= np.add.reduce(p, axis=1, keepdims=True)
        dz = p - onehot[rows]
        dz *= 1.0 / batch
        for layer in range(n_layers - 1, -1, -1):
            np.matmul(acts[layer].T, dz, out=g_aug[layer])
            if layer > 0:
                h = acts[layer][:, :-1]
                dz = dz @ w_aug[layer][:-1].T
                dz *= h > 0.0
        m *= ADAM_BETA1
        m += (1.0 - ADAM_BETA1) * grad
        v *= ADAM_BETA2
        v += (1.0 - ADAM_BETA2) * (grad * grad)
        step = PRETRAIN_LR * np.sqrt(1.0 - ADAM_BETA2**t) / (1.0 - ADAM_BETA1**t)
        theta -= step * m / (np.sqrt(v) + ADAM_EPS)
    weights = [w[:-1].copy() for w in w_aug]
    biases = [w[-1].copy() for w in w_aug]
    return weights, biases


@dataclass(frozen=True)
class _World:
    """A pretrained base model and the samples one user's adaptation is measured on."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    user_test: tuple[np.ndarray, np.ndarray]
    base_test: tuple[np.ndarray, np.ndarray]
    user_train: tuple[np.ndarray, np.ndarray]


def _draw_world(rng: np.random.Generator, sizes: tuple[int, ...], shift: float, user_samples: int) -> _World:
    """Draw the world in a fixed order: base, pre-training, user shift, evaluation, user data."""
    features, classes = sizes[0], sizes[-1]
    base = _base_distribution(features, classes, rng)
    x_base, y_base = base.sample(PRETRAIN_SAMPLES, rng)
    weights, biases = _pretrain(sizes, x_base, y_base, rng)
    user = _user_distribution(base, shift, rng)
    user_test = user.sample(EVAL_SAMPLES, rng)
    base_test = base.sample(EVAL_SAMPLES, rng)
    user_train = user.sample(user_samples, rng)
    arrays = [*weights, *biases, *user_test, *base_test, *user_train]
    for array in arrays:
        array.flags.writeable = False
    return _World(tuple(weights), tuple(biases), user_test, base_test, user_train)


@lru_cache(maxsize=16)
def _prepared_world(seed: int, sizes: tuple[int, ...], shift: float, user_samples: int) -> _World:
    return _draw_world(np.random.default_rng(seed), sizes, shift, user_samples)


# --------------------------------------------------------------------------- public


def personalize(
    *,
    method: str,
    rank: int = 4,
    layers: int = 1,
    targets: tuple[int, ...] | None = None,
    user_samples: int = 48,
    shift: float = 1.0,
    steps: int = 60,
    lr: float = 0.01,
    rng: np.random.Generator,
    world_seed: int | None = None,
    layer_sizes: tuple[int, ...] = LAYER_SIZES,
) -> PersonalizationResult:
    """Pre-train a small MLP on base data, adapt it to one user with ``method``, measure.

    Args:
        method: one of ``METHODS``.
        rank: LoRA rank, or the width of TinyTL's lite residual branch.
        layers: k for ``last_k`` (the last k weight layers train).
        targets: weight-layer indices (0 = input layer) that get a LoRA adapter or a lite
            residual; ``None`` means every layer.
        user_samples: labelled samples the user provides (labels follow the user's prior).
        shift: strength of the user's distribution shift; 0 means no shift, 1 the
            reference shift described in the module docstring.
        steps: full-batch Adam steps of fine-tuning.
        lr: Adam learning rate for fine-tuning.
        rng: every random draw comes from here. Draw order is fixed (world, pre-training,
            user shift, evaluation sets, user training set, adapter initialisation), so two
            calls with equal generators differ only in what the method changes.
        world_seed: when given, the world (base and user distributions, pre-training, the
            evaluation sets and the user's training samples) is drawn from a generator
            seeded with it, and only the adapters' initialisation from ``rng``. A mission
            fixes the world so that every player adapts to the same user and a SPEC
            threshold means the same for all. The prepared world is a pure function of
            its arguments and is memoised, which keeps a run inside part 1's budget.
        layer_sizes: widths from input features to classes.

    Returns:
        A ``PersonalizationResult`` measured on held-out user and base samples.
    """
    method, rank, layers, targets = _check_method_args(method, rank, layers, targets, layer_sizes)
    if not _is_int(user_samples) or not 1 <= user_samples <= MAX_USER_SAMPLES:
        raise ValueError(
            f"user_samples: got {user_samples!r}; accepted: an integer in 1..{MAX_USER_SAMPLES}"
        )
    if not _is_real(shift) or not 0.0 <= shift <= MAX_SHIFT:
        raise ValueError(f"shift: got {shift!r}; accepted: a number in 0..{MAX_SHIFT}")
    if not _is_int(steps) or not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps: got {steps!r}; accepted: an integer in 0..{MAX_STEPS}")
    if not _is_real(lr) or not 0.0 < lr <= 1.0:
        raise ValueError(f"lr: got {lr!r}; accepted: a number in (0, 1]")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: got {type(rng).__name__}; accepted: numpy.random.Generator")
    if world_seed is None:
        world = _draw_world(rng, tuple(layer_sizes), float(shift), int(user_samples))
    else:
        if not _is_int(world_seed) or world_seed < 0:
            raise ValueError(f"world_seed: got {world_seed!r}; accepted: an integer >= 0")
        world = _prepared_world(int(world_seed), tuple(layer_sizes), float(shift), int(user_samples))
    weights, biases = world.weights, world.biases
    x_user_test, y_user_test = world.user_test
    x_base_test, y_base_test = world.base_test
    x_user, y_user = world.user_train
    pretrained = _Net(layer_sizes, list(weights), list(biases), "none", 1, 1, (), None)

    net = _Net(layer_sizes, list(weights), list(biases), method, rank, layers, targets, rng)
    accuracy_before = pretrained.accuracy(x_user_test, y_user_test)
    base_accuracy_before = pretrained.accuracy(x_base_test, y_base_test)
    losses = net.train(x_user, y_user, int(steps), float(lr))
    return PersonalizationResult(
        method=method,
        trainable_params=int(net.theta.size),
        total_params=base_param_count(layer_sizes),
        accuracy_before=accuracy_before,
        accuracy_after=net.accuracy(x_user_test, y_user_test),
        base_accuracy_before=base_accuracy_before,
        base_accuracy_after=net.accuracy(x_base_test, y_base_test),
        user_train_accuracy=net.accuracy(x_user, y_user),
        train_loss=tuple(losses),
    )
