"""Update compression for federated rounds: fewer bits per parameter, at a real cost.

Formats (``UPDATE_FORMATS``):

* ``fp32`` -- the update as trained, 32 bits per parameter.
* ``fp16`` -- IEEE half precision (round to nearest), 16 bits.
* ``int8`` / ``int4`` -- symmetric linear quantisation with one float32 scale
  per output row (per class of the proxy), round to nearest: ``q = round(v / s)``
  with ``s = max|v| / (2^(b-1) - 1)``.  8 or 4 bits per parameter; the scales
  are one per tensor row of the real model and are left out of the byte count
  (a few kilobytes against megabytes).
* ``topk10`` -- top-k sparsification: only the 10% of coordinates with the
  largest magnitude are sent, each as a float32 value and a 32-bit index
  (6.4 bits per parameter on average), with error feedback: what was not sent
  is kept and added to the next round's update (Stich, Cordonnier, Jaggi,
  "Sparsified SGD with Memory", NeurIPS 2018; Lin et al., "Deep Gradient
  Compression", ICLR 2018).

The game compresses the server's averaged update once per round (one tensor,
one residual) rather than every client's upload: the accuracy cost is that of
the real quantiser or sparsifier applied to a real update, at the cost of one
tensor per round instead of one per client.  The bytes on the wire follow the
format in both directions (the server broadcasts the compressed update).
"""

from __future__ import annotations

import numpy as np

__all__ = ["UPDATE_FORMATS", "TOPK_FRACTION", "bits_per_parameter", "payload_bytes", "Compressor"]

UPDATE_FORMATS = ("fp32", "fp16", "int8", "int4", "topk10")
#: Share of coordinates top-k keeps.
TOPK_FRACTION = 0.10
_INDEX_BITS = 32
_VALUE_BITS = 32


def _check_format(update_format: object) -> str:
    if update_format not in UPDATE_FORMATS:
        raise ValueError(f"update_format must be one of {', '.join(UPDATE_FORMATS)}; got {update_format!r}")
    return str(update_format)


def bits_per_parameter(update_format: str) -> float:
    """Average bits one parameter of an update costs on the wire in ``update_format``."""
    fmt = _check_format(update_format)
    if fmt == "topk10":
        return TOPK_FRACTION * (_VALUE_BITS + _INDEX_BITS)
    return {"fp32": 32.0, "fp16": 16.0, "int8": 8.0, "int4": 4.0}[fmt]


def payload_bytes(parameters: float, update_format: str) -> float:
    """Bytes of one update of ``parameters`` parameters in ``update_format``."""
    if isinstance(parameters, bool) or not isinstance(parameters, (int, float, np.integer, np.floating)):
        raise ValueError(f"parameters must be a number, got {parameters!r}")
    if not np.isfinite(parameters) or parameters < 0:
        raise ValueError(f"parameters must be a finite number >= 0, got {parameters!r}")
    return float(parameters) * bits_per_parameter(update_format) / 8.0


def _quantise_rows(update: np.ndarray, bits: int) -> np.ndarray:
    levels = 2 ** (bits - 1) - 1
    flat = update.reshape(update.shape[0], -1)
    scale = np.abs(flat).max(axis=1, keepdims=True) / levels
    safe = np.where(scale > 0, scale, 1.0)
    q = np.clip(np.rint(flat / safe), -levels, levels)
    return (q * scale).reshape(update.shape).astype(update.dtype)


def _top_k(update: np.ndarray, fraction: float) -> np.ndarray:
    flat = update.ravel()
    k = max(1, int(round(fraction * flat.size)))
    keep = np.argpartition(np.abs(flat), flat.size - k)[flat.size - k:]
    out = np.zeros_like(flat)
    out[keep] = flat[keep]
    return out.reshape(update.shape)


class Compressor:
    """Compresses a run's averaged updates round after round (it holds top-k's residual).

    ``compress(update)`` returns what the receiver reconstructs; with error
    feedback (top-k), the part left out is remembered and sent later.
    """

    def __init__(self, update_format: str) -> None:
        self.update_format = _check_format(update_format)
        self._residual: np.ndarray | None = None

    def compress(self, update: np.ndarray) -> np.ndarray:
        fmt = self.update_format
        if fmt == "fp32":
            return update
        if fmt == "fp16":
            return update.astype(np.float16).astype(update.dtype)
        if fmt in ("int8", "int4"):
            return _quantise_rows(update, 8 if fmt == "int8" else 4)
        corrected = update if self._residual is None else update + self._residual
        sent = _top_k(corrected, TOPK_FRACTION)
        self._residual = corrected - sent
        return sent
