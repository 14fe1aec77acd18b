"""The proxy model every simulated client trains: softmax regression, class-major.

Shared by FedAvg (:mod:`edgequest.engine.fedavg`) and gossip learning
(:mod:`edgequest.engine.gossip`): the parameter count, the FLOPs per sample,
batched scoring and the batched minibatch SGD that trains many clients at once.
See :mod:`edgequest.engine.fedavg` for the layout and why it is fast.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MODEL_DTYPE",
    "MODEL_BYTES_PER_PARAMETER",
    "LOGIT_FLOOR",
    "SCORE_BLOCK",
    "model_parameter_count",
    "flops_per_sample",
    "with_bias",
    "column_blocks",
    "class_scores",
    "accuracy_of",
    "cross_entropy_of",
    "local_sgd",
]

#: Weights and deltas are float32, as a device would send them.
MODEL_DTYPE = np.float32
MODEL_BYTES_PER_PARAMETER = 4
#: Lowest centred logit the softmax keeps (see :func:`local_sgd`).
LOGIT_FLOOR = np.float32(-60.0)


# --------------------------------------------------------------------------
# model: softmax regression, class-major layout
# --------------------------------------------------------------------------


def model_parameter_count(n_features: int, n_classes: int) -> int:
    """Weights plus biases of softmax regression: (features + 1) * classes."""
    return (n_features + 1) * n_classes


def flops_per_sample(n_features: int, n_classes: int) -> int:
    """Training FLOPs per sample per epoch of softmax regression.

    Forward logits and the weight gradient are each a (features + 1) x classes
    multiply-add per sample (2 FLOPs each); softmax and the residual add about
    5 per class (max, subtract, exp, normalise, subtract the label).
    """
    return 4 * (n_features + 1) * n_classes + 5 * n_classes


def with_bias(x: np.ndarray) -> np.ndarray:
    """Append a constant-1 feature (the bias) along the last axis, as float32."""
    out = np.ones(x.shape[:-1] + (x.shape[-1] + 1,), dtype=MODEL_DTYPE)
    out[..., :-1] = x
    return out


#: Columns per block when scoring many samples with one model.
SCORE_BLOCK = 512


def column_blocks(x: np.ndarray) -> np.ndarray:
    """(n, features+1) rows -> (blocks, features+1, SCORE_BLOCK), zero-padded.

    Scoring through many small products keeps each one below the size at
    which OpenBLAS splits a product across threads; on a shared 2-core
    machine that hand-off can stall for milliseconds.
    """
    n, width = x.shape
    blocks = -(-n // SCORE_BLOCK)
    padded = np.zeros((blocks * SCORE_BLOCK, width), dtype=MODEL_DTYPE)
    padded[:n] = x
    return np.ascontiguousarray(padded.reshape(blocks, SCORE_BLOCK, width).transpose(0, 2, 1))


def class_scores(weights: np.ndarray, blocks: np.ndarray, n: int) -> np.ndarray:
    """Class-major logits (classes, n) of one model over :func:`column_blocks` data."""
    scores = np.matmul(weights, blocks)  # (blocks, classes, SCORE_BLOCK)
    return scores.transpose(1, 0, 2).reshape(weights.shape[0], -1)[:, :n]


def accuracy_of(scores: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy from class-major scores (classes, n); NaN when n = 0."""
    if labels.size == 0:
        return float("nan")
    return float(np.mean(np.argmax(scores, axis=0) == labels))


def cross_entropy_of(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean softmax cross-entropy (nats) from class-major scores (classes, n)."""
    top = scores.max(axis=0)
    log_norm = top + np.log(np.exp(np.maximum(scores - top, LOGIT_FLOOR)).sum(axis=0))
    picked = np.take_along_axis(scores, labels[None, :], axis=0)[0]
    return float(np.mean(log_norm - picked, dtype=np.float64))


def local_sgd(
    weights: np.ndarray,
    x: np.ndarray,
    target_scaled: np.ndarray,
    step_scale: np.ndarray,
    active: np.ndarray,
    batch_size: int,
    epochs: int,
) -> None:
    """Minibatch SGD on many clients at once, in place on ``weights``.

    Args:
        weights: (clients, classes, features+1) float32, one model per client.
        x: (clients, n, features+1) data with the bias column.
        target_scaled: (classes, clients, n) one-hot labels times ``step_scale``.
        step_scale: (clients, n) learning rate / real samples in the minibatch
            that holds each row; 0 on padding rows.
        active: (steps,) number of leading clients that own a real minibatch
            at each step (clients sorted by sample count, descending).

    The gradient of the mean cross-entropy over a minibatch B is
    ``sum_b (softmax(W x_b) - y_b) x_b^T / |B|``; the scale folds the learning
    rate and 1/|B| into the residual so one batched product gives the step.
    """
    n, n_classes, width = x.shape[1], weights.shape[1], weights.shape[2]
    # Slice every minibatch once (contiguous copies, reused by every epoch)
    # and give each step its own scratch buffers: per-step overhead matters
    # when a step is ~40 microseconds.
    steps = []
    for step, n_active in enumerate(np.asarray(active).tolist()):
        lo, hi = step * batch_size, min(step * batch_size + batch_size, n)
        steps.append((
            weights[:n_active],
            np.ascontiguousarray(x[:n_active, lo:hi].transpose(0, 2, 1)),
            np.ascontiguousarray(x[:n_active, lo:hi]),
            np.ascontiguousarray(step_scale[:n_active, lo:hi]),
            np.ascontiguousarray(target_scaled[:, :n_active, lo:hi]),
            np.empty((n_classes, n_active, hi - lo), dtype=MODEL_DTYPE),
            np.empty((n_active, n_classes, width), dtype=MODEL_DTYPE),
        ))
    for _ in range(epochs):
        for w, xt_batch, x_batch, scale, target, z, grad in steps:
            np.matmul(w, xt_batch, out=z.transpose(1, 0, 2))
            z -= z.max(axis=0)
            # Probabilities below e^-60 are zero for every purpose here; letting
            # exp go further yields subnormal floats, which x86 handles ~100x slower.
            np.maximum(z, LOGIT_FLOOR, out=z)
            np.exp(z, out=z)
            z *= scale / z.sum(axis=0)
            z -= target
            np.matmul(z.transpose(1, 0, 2), x_batch, out=grad)
            w -= grad
