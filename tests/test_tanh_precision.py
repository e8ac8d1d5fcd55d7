"""tanh to full precision (issue #23): it was computed as 1 - 2/(e^2z + 1), a relative error of 9e-5
at z = 1e-12 in float64 and exactly 0 for |z| <= 1e-8 in float32. Required: relative error <= 1e-15
(float64) / 1e-6 (float32) for |z| from the smallest normal number to 20.

Paths: the elementwise kernels are compiled for x86-64-v4, -v3 and baseline and the loader picks
one for the CPU (gcc target_clones); FASTNN_ISA picks the matrix kernels. The kernel is checked on
this CPU's clone, through a network's forward pass under every FASTNN_ISA (child processes), and
the algorithm itself in plain IEEE arithmetic (no fused multiply-add: the baseline clone's)."""

import json
import math

import numpy as np
import pytest
from conftest import package_env, run_python

from fastnn import _core

TOL = {np.float64: 1e-15, np.float32: 1e-6}


def _grid(dtype):
    """|z| from the smallest normal to 20 (log-spaced, plus the branch point 0.625 and the
    neighbours of the values that lose digits), both signs."""
    tiny = float(np.finfo(dtype).tiny)
    mags = np.geomspace(tiny, 20.0, 20_000)
    extra = [1e-12, 1e-8, 1e-4, 0.1, 0.5, 0.6249, 0.625, 0.6251, 1.0, 5.0, 9.0, 19.999, 20.0]
    mags = np.concatenate([mags, extra]).astype(dtype)
    return np.concatenate([mags, -mags])


def _relative_error(got, z):
    want = np.tanh(z.astype(np.float64))  # numpy's float64 tanh: within an ulp
    return np.abs(got.astype(np.float64) - want) / np.abs(want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_tanh_relative_error(dtype):
    z = _grid(dtype)
    a = _core.kernel_activate(z.reshape(1, -1), np.zeros(len(z), dtype=dtype), "tanh").ravel()
    err = _relative_error(a, z)
    worst = int(np.argmax(err))
    assert err[worst] <= TOL[dtype], f"relative error {err[worst]:.3g} at z = {z[worst]!r}"
    assert np.all(np.sign(a) == np.sign(z))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_tanh_special_values(dtype):
    z = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e3, -1e3, 5e-324 if dtype == np.float64 else 1e-45])
    a = _core.kernel_activate(z.astype(dtype).reshape(1, -1), np.zeros(len(z), dtype=dtype), "tanh").ravel()
    assert a[0] == 0 and a[1] == 0
    assert a[2] == 1 and a[3] == -1 and np.isnan(a[4]) and a[5] == 1 and a[6] == -1
    assert a[7] == z.astype(dtype)[7]  # a subnormal: tanh(z) = z
    assert np.all(np.abs(a[np.isfinite(a)]) <= 1)


CHILD = r"""
import json, numpy as np, fastnn
from fastnn import _core
out = {"isa": _core.KERNELS["isa"], "worst": {}}
for dtype in (np.float64, np.float32):
    tiny = float(np.finfo(dtype).tiny)
    z = np.geomspace(tiny, 20.0, 3000)
    z = np.concatenate([z, -z]).astype(dtype)
    k = 50  # a [k, k, 1] network whose hidden layer gets z itself: W = identity, b = 0
    net = fastnn.Network([k, k, 1], hidden="tanh", output="linear", cost="quadratic", dtype=dtype)
    net.weights = [np.eye(k), np.ones((1, k))]
    net.biases = [np.zeros(k), np.zeros(1)]
    X = z.reshape(-1, k)
    # the output is the sum of the hidden activations; compare against the sum of tanh
    got = net.feedforward(X)[:, 0].astype(np.float64)
    want = np.tanh(X.astype(np.float64)).sum(axis=1)
    scale = np.abs(np.tanh(X.astype(np.float64))).sum(axis=1)
    out["worst"][np.dtype(dtype).name] = float(np.max(np.abs(got - want) / scale))
print(json.dumps(out))
"""


@pytest.mark.slow  # a child process per ISA path
@pytest.mark.parametrize("isa", list(_core.KERNELS["available"]) or ["none"])
def test_tanh_through_the_forward_pass_on_every_isa(isa):
    env = package_env(FASTNN_ISA=isa, FASTNN_KERNELS="own") if isa != "none" else package_env()
    proc = run_python(CHILD, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    # the sum of k activations adds rounding of its own: a few ulps of the sum of magnitudes
    assert out["worst"]["float64"] <= 50 * 2.2e-16, out
    assert out["worst"]["float32"] <= 50 * 1.2e-7, out


# ---- the algorithm in plain IEEE arithmetic (the baseline clone: no fused multiply-add) ----------
_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)
_PF = (-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1)


def _exp_one(x, dtype):
    """csrc/kernels.c's exp_one, step by step in `dtype`."""
    f = np.dtype(dtype).type
    if dtype == np.float64:
        lo, hi, shifter, ln2_hi, ln2_lo = (
            -708.0,
            709.0,
            6755399441055744.0,
            6.93147180369123816490e-01,
            1.90821492927058770002e-10,
        )
        coef = [1.0 / math.factorial(i) for i in range(14)]
        itype, bias, mant, bits = np.int64, 1023, 52, 0x4338000000000000
    else:
        lo, hi, shifter, ln2_hi, ln2_lo = -87.3, 88.0, 12582912.0, 0.693359375, -2.12194440e-4
        coef = [1.0 / math.factorial(i) for i in range(8)]
        itype, bias, mant, bits = np.int32, 127, 23, 0x4B400000
    x = np.clip(x, f(lo), f(hi))
    t = x * f(1.4426950408889634) + f(shifter)
    kd = t - f(shifter)
    r = x - kd * f(ln2_hi)
    r = r - kd * f(ln2_lo)
    p = f(coef[-1])
    for c in coef[-2::-1]:
        p = f(c) + r * p
    k = t.view(itype) - itype(bits)
    scale = ((k + bias).astype(itype) << mant).view(dtype)
    return p * scale


def _tanh_plain(z, dtype):
    """csrc/kernels_impl.h's tanh_one: one division of a selected numerator and denominator."""
    f = np.dtype(dtype).type
    x = np.abs(z)
    x2 = x * x
    e = _exp_one(f(2) * x, dtype)
    if dtype == np.float64:
        p = (f(_P[0]) * x2 + f(_P[1])) * x2 + f(_P[2])
        q = ((x2 + f(_Q[0])) * x2 + f(_Q[1])) * x2 + f(_Q[2])
    else:
        p = f(_PF[0])
        for c in _PF[1:]:
            p = p * x2 + f(c)
        q = np.ones_like(x)
    small = x < f(0.625)
    t = np.where(small, x * q + x * x2 * p, e - f(1)) / np.where(small, q, e + f(1))
    return np.where(z < 0, -t, t).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_algorithm_in_plain_arithmetic(dtype):
    z = _grid(dtype)
    with np.errstate(under="ignore", over="ignore"):
        got = _tanh_plain(z, dtype)
    assert got.dtype == dtype
    err = _relative_error(got, z)
    worst = int(np.argmax(err))
    assert err[worst] <= TOL[dtype], f"relative error {err[worst]:.3g} at z = {z[worst]!r}"
