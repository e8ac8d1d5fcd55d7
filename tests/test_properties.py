"""Property-based tests (hypothesis) over the public API.

Random sizes, dtypes, batch sizes, costs, activations, regularization, momentum, input forms and
data give either the result of fastnn.reference.ReferenceNetwork (the book's equations in numpy)
or the documented error, raised before anything changed — never a crash, a hang or a silent NaN.

The runs are derandomized (the same examples on every run, so CI cannot flake on a new one);
FASTNN_HYPOTHESIS_EXAMPLES=500 FASTNN_HYPOTHESIS_RANDOM=1 explores further.
"""

import os

import numpy as np
import pytest
from conftest import assert_unchanged, rel_err, snapshot, twin
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import fastnn
from fastnn import _state
from fastnn.costs import VALID_PAIRINGS

HIDDEN = ("sigmoid", "tanh", "relu")
TOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 2e-3}
EXAMPLES = int(os.environ.get("FASTNN_HYPOTHESIS_EXAMPLES", "40"))

SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not os.environ.get("FASTNN_HYPOTHESIS_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def problems(draw):
    """A valid network and training problem. y is returned in the reference's canonical form
    (int labels, or (n, k) targets) and in the form handed to fastnn (which may differ)."""
    cost, output = draw(st.sampled_from(VALID_PAIRINGS))
    hidden = draw(st.sampled_from(HIDDEN))
    dtype = np.dtype(draw(st.sampled_from([np.float64, np.float32])))
    sizes = draw(st.lists(st.integers(1, 7), min_size=2, max_size=4))
    n = draw(st.integers(1, 24))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    X = rng.random((n, sizes[0])) * draw(st.sampled_from([1.0, 3.0]))
    k = sizes[-1]
    use_labels = k > 1 and output != "linear" and draw(st.booleans())
    if use_labels:
        y_ref = rng.integers(0, k, n)
        y_form = draw(st.sampled_from(["int", "int32", "float", "onehot", "column", "list"]))
        y_in = {
            "int": y_ref,
            "int32": y_ref.astype(np.int32),
            "float": y_ref.astype(float),
            "onehot": np.eye(k)[y_ref],
            "column": y_ref.reshape(-1, 1),
            "list": y_ref.tolist(),
        }[y_form]
    else:
        y_ref = rng.random((n, k))
        if output == "linear":
            y_ref = y_ref * 4 - 2
        y_in = y_ref
        if k == 1 and draw(st.booleans()):
            y_in = y_ref[:, 0]  # one output neuron: 1-D targets
    x_form = draw(st.sampled_from(["array", "list", "fortran", "float32", "strided", "read-only"]))
    if x_form == "float32" or dtype == np.float32:
        X = X.astype(np.float32).astype(np.float64)  # values exact in both precisions
    X_in = {
        "array": X,
        "list": X.tolist(),
        "fortran": np.asfortranarray(X),
        "float32": X.astype(np.float32),
        "strided": np.repeat(X, 2, axis=0)[::2],
        "read-only": X.copy(),
    }[x_form]
    if x_form == "read-only":
        X_in.flags.writeable = False
    hyper = dict(
        epochs=draw(st.integers(0, 3)),
        mini_batch_size=draw(st.integers(1, n)),
        eta=draw(st.sampled_from([0.05, 0.3]))
        if output == "linear"
        else draw(st.sampled_from([0.1, 0.5, 1.0])),
        lmbda=draw(st.sampled_from([0.0, 0.0, 0.5, 2.0])),
        regularization=draw(st.sampled_from(["l2", "l1"])),
        momentum=draw(st.sampled_from([0.0, 0.0, 0.5, 0.9])),
    )
    net_kw = dict(
        cost=cost,
        output=output,
        hidden=hidden,
        dtype=dtype,
        weight_init=draw(st.sampled_from(["default", "large"])),
        seed=seed % 1000,
    )
    return sizes, net_kw, X, X_in, y_ref, y_in, hyper


@SETTINGS
@given(problems())
def test_sgd_matches_the_reference_or_reports_divergence(problem):
    sizes, net_kw, X, X_in, y_ref, y_in, hyper = problem
    net = fastnn.Network(sizes, **net_kw)
    ref = twin(net)
    h = dict(hyper)
    epochs, batch, eta = h.pop("epochs"), h.pop("mini_batch_size"), h.pop("eta")
    try:
        result = net.SGD((X_in, y_in), epochs, batch, eta, shuffle=False, **h)
    except FloatingPointError as e:
        # documented: only when the numbers really blow up, and with the parameters still finite
        assert "smaller eta" in str(e)
        assert np.all(np.isfinite(_state.parameters(net)))
        with np.errstate(all="ignore"):
            ref.SGD((X, y_ref), epochs, batch, eta, h["lmbda"], h["regularization"], h["momentum"])
        assert not all(
            np.all(np.isfinite(w)) and np.max(np.abs(w)) < 1e30 for w in ref.weights + ref.biases
        ), "diverged where the reference did not"
        event("sgd: FloatingPointError, the reference diverged too")
        return
    assert result == ([], [], [], [])
    assert len(net.history.records) == epochs and net.history.stop_reason == "completed"
    with np.errstate(all="ignore"):
        ref.SGD((X, y_ref), epochs, batch, eta, h["lmbda"], h["regularization"], h["momentum"])
    assert np.all(np.isfinite(_state.parameters(net)))
    assert all(w.dtype == net.dtype for w in net.weights + net.biases)
    if not all(
        np.all(np.isfinite(w)) and np.max(np.abs(w), initial=0) < 1e4 for w in ref.weights + ref.biases
    ):
        event("sgd: the reference blew up without inf/NaN, nothing to compare")
        return  # blew up without reaching inf/NaN (float32, linear output): nothing to compare
    tol = TOL[net.dtype] * (1 + epochs)
    assert rel_err(net.weights + net.biases, ref.weights + ref.biases, floor=1.0) < tol
    out = net.feedforward(X_in)
    assert out.dtype == net.dtype and out.shape == (len(X), sizes[-1])
    np.testing.assert_allclose(out, ref.feedforward(X), rtol=tol * 10, atol=tol)
    cost = net.total_cost(X_in, y_in, h["lmbda"], h["regularization"])
    assert np.isfinite(cost)
    assert cost == pytest.approx(
        ref.total_cost(X, y_ref, h["lmbda"], h["regularization"]), rel=tol * 10, abs=tol
    )
    if sizes[-1] == 1 and net.output == "linear":
        with pytest.raises(ValueError, match="stopping_metric"):
            net.accuracy(X_in, y_in)
        event("sgd: one linear output, accuracy refused")
        return
    if sizes[-1] == 1:
        labels = (np.reshape(y_ref, -1) >= 0.5).astype(np.intp)
        if net.output != "sigmoid":
            labels[:] = 0
    else:
        labels = y_ref if np.ndim(y_ref) == 1 else np.argmax(y_ref, axis=1)
    # one rule for accuracy and predict (argmax of z; one output: z >= 0), also the reference's
    assert net.accuracy(X_in, y_in) == int(np.sum(net.predict(X) == labels))


# ---- bad input: the documented error, nothing changed -------------------------------------------
MUTATIONS = {
    # name: (exception, mutate(X, y, hyper, net) -> (X, y, hyper)); None = still valid
    "none": (None, lambda X, y, h, net: (X, y, h)),
    "X-width": (ValueError, lambda X, y, h, net: (np.hstack([X, X[:, :1]]), y, h)),
    "X-1d": (ValueError, lambda X, y, h, net: (X[:, 0], y, h)),
    "X-3d": (ValueError, lambda X, y, h, net: (X[:, :, None], y, h)),
    "X-nan": (ValueError, lambda X, y, h, net: (_poison(X, np.nan, h), y, h)),
    "X-inf": (ValueError, lambda X, y, h, net: (_poison(X, -np.inf, h), y, h)),
    "X-object": (TypeError, lambda X, y, h, net: (X.astype(object), y, h)),
    "X-complex": (TypeError, lambda X, y, h, net: (X.astype(complex), y, h)),
    "y-length": (ValueError, lambda X, y, h, net: (X, np.concatenate([y, y[:1]]), h)),
    "y-nan": (ValueError, lambda X, y, h, net: (X, _poison(np.asarray(y, float), np.nan, h), h)),
    "y-label-range": (ValueError, lambda X, y, h, net: (X, _label(y, net.sizes[-1]), h)),
    "y-non-integral": (ValueError, lambda X, y, h, net: (X, _fraction(y, net.sizes[-1]), h)),
    "y-string": (TypeError, lambda X, y, h, net: (X, np.asarray(y).astype(str), h)),
    "targets-range": (ValueError, lambda X, y, h, net: (X, _out_of_unit(y, net), h)),
    "batch-zero": (ValueError, lambda X, y, h, net: (X, y, dict(h, mini_batch_size=0))),
    "batch-too-big": (ValueError, lambda X, y, h, net: (X, y, dict(h, mini_batch_size=len(X) + 1))),
    "eta-zero": (ValueError, lambda X, y, h, net: (X, y, dict(h, eta=0.0))),
    "eta-negative": (ValueError, lambda X, y, h, net: (X, y, dict(h, eta=-h["eta"]))),
    "eta-nan": (ValueError, lambda X, y, h, net: (X, y, dict(h, eta=float("nan")))),
    "lmbda-negative": (ValueError, lambda X, y, h, net: (X, y, dict(h, lmbda=-1.0))),
    "dropout-one": (ValueError, lambda X, y, h, net: (X, y, dict(h, dropout=1.0))),
    "momentum-one": (ValueError, lambda X, y, h, net: (X, y, dict(h, momentum=1.0))),
    "epochs-negative": (ValueError, lambda X, y, h, net: (X, y, dict(h, epochs=-1))),
}


def _poison(a, value, h):
    a = np.array(a, dtype=float)
    flat = a.reshape(-1)
    flat[h["_where"] % flat.size] = value
    return a


def _label(y, k):
    y = np.asarray(y)
    if y.ndim != 1 or k == 1:  # 1-D y for one output neuron are targets
        return None
    y = y.copy()
    y[0] = k
    return y


def _fraction(y, k):
    y = np.asarray(y)
    if y.ndim != 1 or k == 1:
        return None
    y = y.astype(float)
    y[-1] += 0.5
    return y


def _out_of_unit(y, net):
    if np.ndim(y) != 2 or net.cost.name == "quadratic":
        return None
    y = np.array(y, dtype=float)
    y[0, 0] = 1.5
    return y


@SETTINGS
@given(problems(), st.sampled_from(sorted(MUTATIONS)), st.integers(0, 10**6), st.booleans())
def test_bad_input_gives_the_documented_error_and_changes_nothing(problem, mutation, where, warm):
    sizes, net_kw, X, _X_in, y_ref, y_in, hyper = problem
    exc, mutate = MUTATIONS[mutation]
    net = fastnn.Network(sizes, **net_kw)
    if warm:  # velocity and history in place, so that we can see they are not touched
        net.SGD((X, y_ref), 1, len(X), 0.01, momentum=0.5)
    Xb, yb, h = mutate(X, y_in, dict(hyper, _where=where), net)
    if yb is None:
        event(f"bad input: {mutation} not applicable to this y")
        return  # mutation not applicable to this y
    h.pop("_where")
    if mutation == "none":
        h["epochs"] = max(h["epochs"], 1)
    if mutation == "X-width" and Xb.shape[1] == sizes[0]:
        event("bad input: X-width left the width unchanged")
        return
    before = snapshot(net)
    args = ((Xb, yb), h.pop("epochs"), h.pop("mini_batch_size"), h.pop("eta"))
    if exc is None:
        try:
            net.SGD(*args, **h)
        except FloatingPointError:
            event("bad input: valid call diverged (FloatingPointError)")
        assert np.all(np.isfinite(_state.parameters(net)))
        return
    with pytest.raises(exc) as info:
        net.SGD(*args, **h)
    msg = str(info.value)
    assert msg.split(":")[0] in (
        "training_data X",
        "training_data y",
        "training_data",
        "mini_batch_size",
        "eta",
        "lmbda",
        "dropout",
        "momentum",
        "epochs",
    ), msg
    assert_unchanged(net, before)


# ---- inference: any accepted form of X gives the reference's outputs ------------------------------
@SETTINGS
@given(
    problems(),
    st.sampled_from(
        [
            "int",
            "uint8",
            "bool",
            "float16",
            "float32",
            "longdouble",
            "big-endian",
            "list",
            "fortran",
            "negative-strides",
        ]
    ),
)
def test_inference_on_any_accepted_input_form(problem, form):
    sizes, net_kw, X, _, _, _, _ = problem
    net = fastnn.Network(sizes, **net_kw)
    ref = twin(net)
    X = X * 4 - 2
    conv = {
        "int": lambda a: np.round(a).astype(np.int64),
        "uint8": lambda a: np.abs(np.round(a)).astype(np.uint8),
        "bool": lambda a: a > 0,
        "float16": lambda a: a.astype(np.float16),
        "float32": lambda a: a.astype(np.float32),
        "longdouble": lambda a: a.astype(np.longdouble),
        "big-endian": lambda a: a.astype(">f8"),
        "list": lambda a: a.tolist(),
        "fortran": np.asfortranarray,
        "negative-strides": lambda a: np.flipud(np.flipud(a).copy()),
    }[form]
    Xf = conv(X)
    want = ref.feedforward(np.asarray(Xf, dtype=np.float64).astype(net.dtype))
    got = net.feedforward(Xf)
    assert got.dtype == net.dtype and got.shape == want.shape
    assert np.all(np.isfinite(got))
    tol = TOL[net.dtype]
    np.testing.assert_allclose(got, want, rtol=tol * 10, atol=tol)
    pred = net.predict(Xf)
    if got.shape[1] == 1 and net.output != "sigmoid":
        assert not pred.any()  # argmax of one column
    elif got.shape[1] == 1:  # one sigmoid output: z >= 0, i.e. a >= 0.5 (a == 0.5 may round)
        clear = got[:, 0] != 0.5
        assert np.array_equal(pred[clear], (got[clear, 0] > 0.5).astype(pred.dtype))
    else:  # argmax of z: the argmax of a wherever a has no (saturated) tie
        clear = np.sum(got == got.max(axis=1, keepdims=True), axis=1) == 1
        assert np.array_equal(pred[clear], got[clear].argmax(axis=1))


# ---- parameters: assigned exactly, or refused with nothing changed --------------------------------
@SETTINGS
@given(st.lists(st.integers(1, 5), min_size=2, max_size=4), st.data())
def test_weight_assignment_is_exact_or_refused(sizes, data):
    net = fastnn.Network(sizes, seed=0)
    shapes = [(o, i) for i, o in zip(sizes[:-1], sizes[1:])]
    count = data.draw(st.sampled_from([len(shapes), len(shapes), max(len(shapes) - 1, 0), len(shapes) + 1]))
    values = []
    for l in range(count):
        shape = shapes[l] if l < len(shapes) else (2, 2)
        if data.draw(st.integers(0, 4)) == 0:
            shape = data.draw(
                st.sampled_from([shape[::-1], (shape[0] + 1, shape[1]), (shape[0],), (*shape, 1)])
            )
        dtype = data.draw(st.sampled_from([np.float64, np.float32, np.int32, bool]))
        v = np.random.default_rng(l).standard_normal(shape).astype(dtype)
        if data.draw(st.integers(0, 6)) == 0 and v.dtype.kind == "f" and v.size:
            v.flat[0] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        values.append(v)
    before = snapshot(net)
    valid = count == len(shapes) and all(
        v.shape == s and np.all(np.isfinite(v)) for v, s in zip(values, shapes)
    )
    if valid:
        net.weights = values
        for w, v in zip(net.weights, values):
            assert w.dtype == net.dtype and np.array_equal(w, v.astype(net.dtype))
    else:
        with pytest.raises(ValueError, match=r"^weights(\[\d\])?: expected|contains NaN"):
            net.weights = values
        after = snapshot(net)
        assert np.array_equal(after.params, before.params) and after.rng == before.rng
