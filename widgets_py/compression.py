"""Model compression for the cost dashboard: int8 quantization with integer inference, fp16, magnitude
pruning, and how many bytes each form takes. Pure numpy; the models are ``widgets_py.ml`` layer lists.

Quantization follows Jacob et al., "Quantization and Training of Neural Networks for Efficient
Integer-Arithmetic-Only Inference" (CVPR 2018, arXiv 1712.05877):

* the affine map ``r = S · (q − Z)`` with a float scale ``S`` and an integer zero point ``Z``; the range
  is widened to include 0 so that real zero (padding, ReLU, pruned weights) is exactly representable;
* weights get one (S, Z) per tensor or one per output channel (a column of ``W``); activations one per
  tensor, calibrated on the training rows' min/max;
* a layer multiplies ``(q_x − Z_x)`` by ``(q_w − Z_w)`` with int32 accumulation, adds the bias stored as
  int32 at scale ``S_x·S_w``, then *requantizes* to the next layer's int8 scale with the real multiplier
  ``M = S_x·S_w / S_y`` expressed as an int32 fixed-point ``M0`` and a right shift (their section 2.2),
  so no float is touched between the input and the output; ReLU is the clamp at ``Z_y``.
* the output layer's int32 accumulator has the sign of the logit (``S_x·S_w > 0``), so the survival
  decision itself is integer-only.

Byte counts (``*_bytes`` functions) state what a deployed file would hold; see each docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import ml

QMIN, QMAX = -128, 127  # signed int8
FP32_BYTES, FP16_BYTES, INT8_BYTES, INT32_BYTES = 4, 2, 1, 4
SCALE_BYTES, ZERO_POINT_BYTES = 4, 1  # float32 scale, int8 zero point


# --------------------------------------------------------------------------------------------------
# Affine quantization
# --------------------------------------------------------------------------------------------------
def affine_params(r: np.ndarray, axis: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scale and zero point covering ``r`` (per tensor, or per slice along ``axis`` kept).

    The range always contains 0 (Jacob et al. §2.1); an all-zero slice (a fully pruned channel) gets
    scale 1 so it still round-trips to exact zeros."""
    if axis is None:
        lo, hi = np.min(r), np.max(r)
    else:
        reduce = tuple(i for i in range(r.ndim) if i != axis)
        lo, hi = np.min(r, axis=reduce), np.max(r, axis=reduce)
    lo = np.minimum(lo, 0.0)
    hi = np.maximum(hi, 0.0)
    scale = (hi - lo) / (QMAX - QMIN)
    scale = np.where(scale > 0, scale, 1.0)
    zero_point = np.clip(np.round(QMIN - lo / scale), QMIN, QMAX).astype(np.int32)
    return np.asarray(scale, float), np.asarray(zero_point)


def quantize(r: np.ndarray, scale: np.ndarray, zero_point: np.ndarray) -> np.ndarray:
    """``q = clamp(round(r / S) + Z)`` as int32 holding int8 values (broadcast over the last axis)."""
    return np.clip(np.round(r / scale) + zero_point, QMIN, QMAX).astype(np.int32)


def dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray) -> np.ndarray:
    return scale * (q - zero_point).astype(float)


def fixed_point_multiplier(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Write each positive real ``m`` as ``M0 · 2^-shift`` with ``M0`` an int32 in [2^30, 2^31)."""
    mantissa, exponent = np.frexp(np.asarray(m, float))  # m = mantissa · 2^exponent, mantissa in [0.5, 1)
    m0 = np.round(mantissa * 2.0**31).astype(np.int64)
    carry = m0 == 2**31  # rounding reached the next power of two
    m0 = np.where(carry, m0 // 2, m0)
    shift = 31 - exponent.astype(np.int64) - carry.astype(np.int64)
    return m0, shift


def requantize(acc: np.ndarray, m0: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``round(acc · M0 / 2^shift)`` in int64 integer arithmetic (round half up)."""
    prod = acc.astype(np.int64) * m0
    return (prod + (np.int64(1) << (shift - 1))) >> shift


@dataclass(frozen=True)
class QuantLayer:
    q_w: np.ndarray  # (in, out) int8 values in int32
    w_scale: np.ndarray  # () or (out,)
    w_zero: np.ndarray  # () or (out,)
    q_b: np.ndarray  # (out,) int32 bias at scale in_scale * w_scale
    in_scale: float
    in_zero: int
    out_scale: float | None  # None for the output layer (its int32 accumulator is the result)
    out_zero: int | None
    m0: np.ndarray | None
    shift: np.ndarray | None


@dataclass(frozen=True)
class QuantModel:
    layers: tuple[QuantLayer, ...]
    per_channel: bool

    def logit_sign_scores(self, X: np.ndarray) -> np.ndarray:
        """Integer-only forward pass; returns the output accumulators (int64, same sign as the logit)."""
        first = self.layers[0]
        q = quantize(X, first.in_scale, first.in_zero)
        for layer in self.layers:
            acc = (q - layer.in_zero) @ (layer.q_w - layer.w_zero) + layer.q_b  # int32 accumulation
            if layer.out_scale is None:
                return acc.astype(np.int64)[:, 0]
            y = requantize(acc, layer.m0, layer.shift) + layer.out_zero
            # ReLU fused into the clamp: real 0 is the zero point.
            q = np.clip(y, max(QMIN, layer.out_zero), QMAX).astype(np.int32)
        raise AssertionError("unreachable: the last layer returns")

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Real-valued logits: the integer accumulator times ``S_x·S_w`` (for inspection only)."""
        last = self.layers[-1]
        return self.logit_sign_scores(X) * float(np.ravel(last.in_scale * last.w_scale)[0])

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean((self.logit_sign_scores(X) > 0) == (y > 0.5)))


def quantize_model(layers: ml.Layers, X_calibration: np.ndarray, per_channel: bool) -> QuantModel:
    """Post-training int8 quantization; activation ranges come from ``X_calibration`` (training rows)."""
    acts = [X_calibration]  # activations entering each layer (after ReLU)
    for layer in layers[:-1]:
        acts.append(np.maximum(acts[-1] @ layer["W"] + layer["b"], 0.0))
    act_params = [affine_params(a) for a in acts]
    out = []
    for i, layer in enumerate(layers):
        in_scale, in_zero = (float(v) for v in act_params[i])
        w_scale, w_zero = affine_params(layer["W"], axis=1 if per_channel else None)
        q_w = quantize(layer["W"], w_scale, w_zero)
        bias_scale = in_scale * w_scale
        q_b = np.round(layer["b"] / bias_scale).astype(np.int32)
        if i < len(layers) - 1:
            out_scale, out_zero = (float(v) for v in act_params[i + 1])
            m0, shift = fixed_point_multiplier(np.broadcast_to(bias_scale / out_scale, q_b.shape))
            out.append(QuantLayer(q_w, w_scale, w_zero, q_b, in_scale, int(in_zero), out_scale,
                                  int(out_zero), m0, shift))
        else:
            out.append(QuantLayer(q_w, w_scale, w_zero, q_b, in_scale, int(in_zero), None, None,
                                  None, None))
    return QuantModel(tuple(out), per_channel)


# --------------------------------------------------------------------------------------------------
# fp16
# --------------------------------------------------------------------------------------------------
def fp16_accuracy(layers: ml.Layers, X: np.ndarray, y: np.ndarray) -> float:
    """Weights and inputs cast to float16 and the forward pass computed in float16."""
    half = [{k: v.astype(np.float16) for k, v in layer.items()} for layer in layers]
    h = X.astype(np.float16)
    for i, layer in enumerate(half):
        h = h @ layer["W"] + layer["b"]
        if i < len(half) - 1:
            h = np.maximum(h, np.float16(0))
    return float(np.mean((h[:, 0] > 0) == (y > 0.5)))


# --------------------------------------------------------------------------------------------------
# Pruning
# --------------------------------------------------------------------------------------------------
def magnitude_masks(layers: ml.Layers, sparsity: float) -> ml.Layers:
    """0/1 masks that zero the ``round(sparsity · n)`` smallest-magnitude weights over all layers
    (global magnitude pruning; biases are kept, as is usual)."""
    flat = np.concatenate([np.abs(layer["W"]).ravel() for layer in layers])
    k = int(round(sparsity * flat.size))
    keep = np.ones(flat.size)
    keep[np.argsort(flat, kind="stable")[:k]] = 0.0
    masks, start = [], 0
    for layer in layers:
        size = layer["W"].size
        masks.append({"W": keep[start:start + size].reshape(layer["W"].shape), "b": np.ones_like(layer["b"])})
        start += size
    return masks


def apply_masks(layers: ml.Layers, masks: ml.Layers) -> ml.Layers:
    return [{k: layer[k] * mask[k] for k in layer} for layer, mask in zip(layers, masks)]


# --------------------------------------------------------------------------------------------------
# Sizes
# --------------------------------------------------------------------------------------------------
def tensor_bytes(values: np.ndarray, value_bytes: int, sparse: bool = True) -> int:
    """Bytes to store one weight tensor: dense, or — when smaller — a bitmap sparse format (the nonzero
    values plus one bit per position marking which are nonzero)."""
    dense = values.size * value_bytes
    if not sparse:
        return dense
    bitmap = int(np.count_nonzero(values)) * value_bytes + math.ceil(values.size / 8)
    return min(dense, bitmap)


def float_model_bytes(layers: ml.Layers, value_bytes: int) -> int:
    """fp32 (4) or fp16 (2) bytes per value; weights may use the bitmap format, biases are dense."""
    return sum(tensor_bytes(l["W"], value_bytes) + l["b"].size * value_bytes for l in layers)


def int8_model_bytes(qmodel: QuantModel, sparse: bool = True) -> int:
    """int8 weight codes (1 byte; bitmap format for zeros when smaller), int32 biases (4 bytes), and a
    float32 scale plus an int8 zero point per weight tensor or channel and per activation tensor."""
    total = 0
    for lq in qmodel.layers:
        codes = lq.q_w - lq.w_zero  # zero code ⇔ real zero, so pruned weights stay sparse
        total += tensor_bytes(codes, INT8_BYTES, sparse)
        total += lq.q_b.size * INT32_BYTES
        total += np.size(lq.w_scale) * (SCALE_BYTES + ZERO_POINT_BYTES)
        total += SCALE_BYTES + ZERO_POINT_BYTES  # the activation entering this layer
    return int(total)


def dense_macs(layers: ml.Layers) -> int:
    """Multiply-accumulates per prediction with dense kernels (unstructured zeros are not skipped)."""
    return int(sum(layer["W"].size for layer in layers))


def max_activation_width(layers: ml.Layers) -> int:
    return int(max([layers[0]["W"].shape[0]] + [layer["W"].shape[1] for layer in layers]))
