"""Attention from scratch agrees with PyTorch's own attention, and a one-line bug fails a test."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gencourse.models.attention import (
    MultiHeadAttention, causal_mask, merge_heads, padding_mask, scaled_dot_product_attention,
    sinusoidal_positions, split_heads,
)

B, H, T, D = 3, 4, 7, 24


def _qkv(seed: int = 0, s: int = T, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    # scale 2: scores spread over several units, so that a missing 1/sqrt(d) or a wrong axis
    # changes the softmax a lot (tiny scores would make every weighting nearly uniform)
    return tuple(2 * torch.randn(B, H, t, D // H, generator=g, dtype=dtype) for t in (T, s, s))


def _assert_close(a, b, tol=1e-10):
    assert a.shape == b.shape, (a.shape, b.shape)
    err = float((a - b).detach().abs().max())
    assert err < tol, f"max error {err:.3g}"


def test_scaled_dot_product_attention_matches_torch_without_a_mask():
    q, k, v = _qkv(s=5)
    out, weights = scaled_dot_product_attention(q, k, v)
    _assert_close(out, F.scaled_dot_product_attention(q, k, v))
    assert weights.shape == (B, H, T, 5)
    _assert_close(weights.sum(-1), torch.ones(B, H, T, dtype=torch.float64))


def test_weights_are_the_softmax_of_scores_divided_by_sqrt_d():
    q, k, v = _qkv()
    _, weights = scaled_dot_product_attention(q, k, v)
    d = q.shape[-1]
    _assert_close(weights, torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1))
    # with d = 6 a 1/d scale or no scale gives very different weights
    assert float((weights - torch.softmax(q @ k.transpose(-2, -1) / d, -1)).abs().max()) > 0.05


def test_causal_mask_matches_torch_is_causal_and_hides_the_future():
    q, k, v = _qkv(1)
    out, weights = scaled_dot_product_attention(q, k, v, causal_mask(T))
    _assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True))
    future = ~causal_mask(T)
    assert float(weights[..., future].abs().max()) == 0.0
    assert bool((weights[..., ~future] > 0).all()), "every allowed position (the diagonal included) gets weight"
    # changing a later token must not change an earlier output
    v2 = v.clone()
    v2[:, :, -1] += 10.0
    out2, _ = scaled_dot_product_attention(q, k, v2, causal_mask(T))
    _assert_close(out2[:, :, :-1], out[:, :, :-1], tol=1e-12)
    assert float((out2[:, :, -1] - out[:, :, -1]).abs().max()) > 1.0


def test_causal_mask_shape_and_diagonal():
    m = causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    assert m.tolist() == [[True, False, False, False], [True, True, False, False],
                          [True, True, True, False], [True, True, True, True]]


def test_padding_mask_matches_torch_with_a_boolean_attn_mask():
    q, k, v = _qkv(2)
    lengths = torch.tensor([7, 3, 1])
    mask = padding_mask(lengths, T)
    assert mask.shape == (B, 1, 1, T)
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    _assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    for b, n in enumerate(lengths.tolist()):
        assert float(weights[b, ..., n:].abs().sum()) == 0.0
        _assert_close(weights[b, ..., :n].sum(-1), torch.ones(H, T, dtype=torch.float64))
    # the padded keys' values do not matter at all
    v2 = v.clone()
    v2[1, :, 3:] = 1e6
    _assert_close(scaled_dot_product_attention(q, k, v2, mask)[0], out)


def test_causal_and_padding_masks_combine_with_and():
    q, k, v = _qkv(3)
    mask = causal_mask(T) & padding_mask(torch.tensor([5, 7, 2]), T)
    assert mask.shape == (B, 1, T, T)
    out, _ = scaled_dot_product_attention(q, k, v, mask)
    _assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_a_query_with_no_allowed_key_gets_zeros_like_torch():
    q, k, v = _qkv(4)
    mask = torch.ones(T, T, dtype=torch.bool)
    mask[2] = False
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    assert bool(torch.isfinite(out).all()) and float(weights[..., 2, :].abs().max()) == 0.0
    _assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_values_of_another_width_and_the_scale_from_the_keys_width_match_torch():
    # d_v = 10 != d = 6: a scale taken from the values' width (sqrt(10)) would differ from torch
    g = torch.Generator().manual_seed(6)
    q, k = (2 * torch.randn(B, H, T, 6, generator=g, dtype=torch.float64) for _ in range(2))
    v = torch.randn(B, H, T, 10, generator=g, dtype=torch.float64)
    for mask, kwargs in ((None, {}), (causal_mask(T), {"is_causal": True})):
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        assert out.shape == (B, H, T, 10)
        _assert_close(out, F.scaled_dot_product_attention(q, k, v, **kwargs))


def test_attention_gradients_match_torch():
    q, k, v = (t.requires_grad_(True) for t in _qkv(5))
    mask = causal_mask(T)
    scaled_dot_product_attention(q, k, v, mask)[0].pow(2).sum().backward()
    ours = [t.grad.clone() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    F.scaled_dot_product_attention(q, k, v, attn_mask=mask).pow(2).sum().backward()
    for a, b in zip(ours, (q.grad, k.grad, v.grad)):
        _assert_close(a, b)


def test_split_and_merge_heads_are_inverse_and_slice_the_features():
    x = torch.arange(2 * 3 * 8, dtype=torch.float64).reshape(2, 3, 8)
    heads = split_heads(x, 4)
    assert heads.shape == (2, 4, 3, 2)
    # head h at position t holds features [2h, 2h+1] of x[:, t]
    assert torch.equal(heads[:, 1, 2], x[:, 2, 2:4])
    assert torch.equal(merge_heads(heads), x)


@pytest.mark.parametrize("packed", [False, True], ids=["separate", "packed"])
def test_multi_head_attention_matches_torch_multihead_attention(packed):
    torch.manual_seed(0)
    reference = torch.nn.MultiheadAttention(D, H, batch_first=True).double()
    with torch.no_grad():      # PyTorch zeroes the biases at init: make them count
        reference.in_proj_bias.normal_()
        reference.out_proj.bias.normal_()
    ours = MultiHeadAttention(D, H, packed=packed).double().load_from_torch(reference)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(B, T, D, generator=g, dtype=torch.float64)
    lengths = torch.tensor([7, 4, 2])
    for name, our_mask, torch_kwargs in [
        ("none", None, {}),
        ("causal", causal_mask(T), {"attn_mask": ~causal_mask(T)}),
        ("padding", padding_mask(lengths, T), {"key_padding_mask": ~padding_mask(lengths, T)[:, 0, 0]}),
    ]:
        out, weights = ours(x, mask=our_mask)
        expected, expected_weights = reference(x, x, x, average_attn_weights=False, **torch_kwargs)
        _assert_close(out, expected)
        _assert_close(weights, expected_weights)


def test_multi_head_attention_cross_attention_matches_torch():
    torch.manual_seed(1)
    reference = torch.nn.MultiheadAttention(D, H, batch_first=True).double()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(B, 2, D, generator=g, dtype=torch.float64)
    context = torch.randn(B, T, D, generator=g, dtype=torch.float64)
    for packed in (False, True):
        ours = MultiHeadAttention(D, H, packed=packed).double().load_from_torch(reference)
        out, weights = ours(x, context)
        assert weights.shape == (B, H, 2, T)
        _assert_close(out, reference(x, context, context)[0])


def test_separate_and_packed_projections_compute_the_same_function():
    torch.manual_seed(2)
    reference = torch.nn.MultiheadAttention(D, H, batch_first=True).double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    a = MultiHeadAttention(D, H).double().load_from_torch(reference)(x)[0]
    b = MultiHeadAttention(D, H, packed=True).double().load_from_torch(reference)(x)[0]
    _assert_close(a, b)


def test_self_attention_without_positions_is_permutation_equivariant():
    torch.manual_seed(3)
    mha = MultiHeadAttention(D, H).double().requires_grad_(False)
    x = torch.randn(B, T, D, dtype=torch.float64)
    perm = torch.randperm(T)
    out = mha(x)[0]
    _assert_close(mha(x[:, perm])[0], out[:, perm])
    # with positions added, the same permutation changes the outputs
    pe = sinusoidal_positions(T, D, dtype=torch.float64)
    with_pos = mha(x + pe)[0]
    assert float((mha(x[:, perm] + pe)[0] - with_pos[:, perm]).abs().max()) > 1e-3


def test_sinusoidal_positions_formula_and_rotation_property():
    pe = sinusoidal_positions(50, 16)
    assert pe.shape == (50, 16) and float(pe.abs().max()) <= 1.0
    t, i = 7, 3
    omega = 10000 ** (-2 * i / 16)
    assert abs(float(pe[t, 2 * i]) - math.sin(t * omega)) < 1e-6
    assert abs(float(pe[t, 2 * i + 1]) - math.cos(t * omega)) < 1e-6
    assert torch.equal(pe[0, 0::2], torch.zeros(8)) and torch.equal(pe[0, 1::2], torch.ones(8))
    # a shift by k is the same rotation of every (sin, cos) pair, whatever the position
    pe64 = sinusoidal_positions(50, 16, dtype=torch.float64)
    k = 5
    w = 10000 ** (-torch.arange(0, 16, 2, dtype=torch.float64) / 16) * k
    sin, cos = pe64[:-k, 0::2], pe64[:-k, 1::2]
    _assert_close(pe64[k:, 0::2], sin * torch.cos(w) + cos * torch.sin(w), tol=1e-10)
    _assert_close(pe64[k:, 1::2], cos * torch.cos(w) - sin * torch.sin(w), tol=1e-10)
    # distinct positions get distinct codes
    assert float(torch.cdist(pe64, pe64).add(torch.eye(50, dtype=torch.float64) * 9).min()) > 0.1


@pytest.mark.parametrize("call, message", [
    (lambda: MultiHeadAttention(30, 4), r"d_model=30 is not divisible by n_heads=4"),
    (lambda: MultiHeadAttention(32, 0), r"n_heads must be a positive int"),
    (lambda: split_heads(torch.zeros(2, 3, 10), 4), r"D=10 is not divisible by n_heads=4"),
    (lambda: split_heads(torch.zeros(3, 10), 2), r"expects \(B, T, D\)"),
    (lambda: merge_heads(torch.zeros(3, 10, 2)), r"expects \(B, H, T, d\)"),
    (lambda: MultiHeadAttention(8, 2)(torch.zeros(2, 3, 6)), r"x must be \(B, T, D=8\), got shape \(2, 3, 6\)"),
    (lambda: scaled_dot_product_attention(torch.zeros(2, 3, 4), torch.zeros(2, 3, 5), torch.zeros(2, 3, 5)),
     r"queries have width 4 but keys have 5"),
    (lambda: scaled_dot_product_attention(torch.zeros(2, 3, 4), torch.zeros(2, 5, 4), torch.zeros(2, 4, 4)),
     r"5 keys but 4 values"),
    (lambda: scaled_dot_product_attention(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), torch.zeros(2, 3, 4),
                                          torch.ones(3, 3)), r"mask must be a bool tensor"),
    (lambda: scaled_dot_product_attention(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), torch.zeros(2, 3, 4),
                                          causal_mask(4)), r"does not broadcast"),
    (lambda: causal_mask(0), r"T must be a positive int"),
    (lambda: padding_mask(torch.tensor([3, 9]), 5), r"lengths must lie in \[1, T=5\]"),
    (lambda: padding_mask(torch.tensor([1.5]), 5), r"1-D integer tensor"),
    (lambda: sinusoidal_positions(10, 7), r"d must be a positive even int"),
    (lambda: MultiHeadAttention(8, 2).load_from_torch(torch.nn.MultiheadAttention(8, 4)), r"num_heads=4"),
])
def test_bad_inputs_raise_one_line_errors(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call()
    assert "\n" not in str(error.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_multi_head_attention_runs_on_cuda_and_matches_cpu():
    torch.manual_seed(4)
    mha = MultiHeadAttention(D, H).double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    mask = causal_mask(T) & padding_mask(torch.tensor([7, 5, 3]), T)
    out_cpu, w_cpu = mha(x, mask=mask)
    mha_gpu = mha.cuda()
    out_gpu, w_gpu = mha_gpu(x.cuda(), mask=causal_mask(T, device="cuda") & padding_mask(torch.tensor([7, 5, 3]).cuda(), T))
    assert out_gpu.device.type == "cuda" and w_gpu.device.type == "cuda"
    _assert_close(out_gpu.cpu(), out_cpu, tol=1e-9)
    _assert_close(w_gpu.cpu(), w_cpu, tol=1e-9)
    out_gpu.sum().backward()
    assert all(p.grad is not None and p.grad.device.type == "cuda" for p in mha_gpu.parameters())
