"""Every name list exists once (fastnn/_vocabulary.py) and each consumer is built from it."""

import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import _core, cli, costs, io
from fastnn import _vocabulary as V
from fastnn.data import onehot
from fastnn.sklearn import NetworkClassifier, NetworkRegressor


def _option(parser, dest, command="train"):
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return next(a for a in sub._actions if a.dest == dest)


def test_vocabulary_does_not_load_the_core():
    """The module stands alone: loaded by its file, it imports neither fastnn nor scipy."""
    code = (
        "import importlib.util, sys; "
        f"spec = importlib.util.spec_from_file_location('vocabulary', {V.__file__!r}); "
        "spec.loader.exec_module(importlib.util.module_from_spec(spec)); "
        "assert not [m for m in sys.modules if m.startswith(('fastnn', 'scipy'))]"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_cli_choices_come_from_the_vocabulary():
    parser = cli.build_parser()
    assert _option(parser, "output").choices is V.OUTPUTS
    assert _option(parser, "hidden").choices is V.HIDDEN
    assert _option(parser, "weight_init").choices is V.WEIGHT_INITS
    assert _option(parser, "regularization").choices is V.REGULARIZATIONS
    assert _option(parser, "dtype").choices is V.DTYPES
    assert _option(parser, "cost").metavar == "{" + ",".join(V.COSTS) + "}"
    # the numeric flags check the vocabulary's intervals, with its message
    with pytest.raises(cli.CLIError, match=r"--momentum: expected a value in \[0.0, 1.0\), got 1.0"):
        parser.parse_args(["train", "--momentum", "1"])
    assert parser.parse_args(["train", "--min-eta-ratio", "1"]).min_eta_ratio == 1.0
    assert parser.parse_args(["train", "--cost", "CrossEntropyCost"]).cost == "cross-entropy"


@pytest.mark.parametrize("estimator", [NetworkClassifier, NetworkRegressor])
def test_estimator_constraints_come_from_the_vocabulary(estimator):
    c = estimator._parameter_constraints
    assert set(c) == set(estimator().get_params())
    assert c["regularization"][0].options == set(V.REGULARIZATIONS)
    assert c["output"][0].options == set(V.OUTPUTS)
    assert c["weight_init"][0].options == set(V.WEIGHT_INITS)
    assert c["cost"][0].options == set(V.COSTS)
    assert c["activation"][0].options == set(V.HIDDEN) | set(V.ACTIVATION_ALIASES)
    assert c["dtype"][0].options == set(V.DTYPES)
    for param, name in (
        ("eta", "eta"),
        ("momentum", "momentum"),
        ("dropout", "dropout"),
        ("lmbda", "lmbda"),
        ("batch_size", "mini_batch_size"),
        ("validation_fraction", "validation_fraction"),
    ):
        iv, hyper = c[param][0], V.HYPER[name]
        assert (iv.left, iv.right) == (hyper.low, hyper.high), param
        assert (iv.closed in ("right", "neither")) == hyper.low_open, param


def test_core_maps_every_name_of_the_vocabulary():
    assert set(_core.COSTS) == set(V.COSTS)
    assert set(_core.ACTIVATIONS) == set(V.HIDDEN) | set(V.OUTPUTS)
    assert set(_core.REGULARIZATIONS) - {None} == set(V.REGULARIZATIONS)
    # the mapping is by meaning, not only by name: sigmoid is one C constant for hidden and output
    assert _core.ACTIVATIONS["sigmoid"] not in {
        _core.ACTIVATIONS[a] for a in ("tanh", "relu", "softmax", "linear")
    }
    assert len(set(_core.COSTS.values())) == 3


def test_costs_and_io_use_the_vocabulary():
    assert costs.VALID_PAIRINGS is V.VALID_PAIRINGS
    for name, cls in costs.COSTS.items():
        assert cls.outputs == V.COST_OUTPUTS[name]
        assert V.COST_CLASS_NAMES[cls.__name__] == name
    assert io.COST_CLASS_NAMES is V.COST_CLASS_NAMES


@pytest.mark.parametrize(
    "spelling",
    [
        "cross-entropy",
        "cross_entropy",
        "CrossEntropyCost",
        "ce",
        "crossentropy",
        " Cross-Entropy ",
        fastnn.CrossEntropyCost,
    ],
)
def test_one_cost_resolver(spelling):
    assert V.cost_name(spelling) == "cross-entropy"
    assert costs.resolve_cost(spelling) is fastnn.CrossEntropyCost


def test_a_foreign_class_of_the_same_name_is_not_taken_for_fastnns():
    class CrossEntropyCost:  # e.g. network2.py's, or a user's own cost
        name = "cross-entropy"

    with pytest.raises(ValueError, match=r"^cost: expected one of 'quadratic'"):
        V.cost_name(CrossEntropyCost)


@pytest.mark.parametrize("dtype", [np.float16, "float16", np.int32, "U3", object, "nonsense"])
def test_one_dtype_rule(dtype, tmp_path):
    """float16 and non-float types are refused by every consumer with the same TypeError."""
    for call in (
        lambda: fastnn.Network([2, 2], dtype=dtype),
        lambda: onehot([0, 1], 2, dtype=dtype),
        lambda: V.resolve_dtype(dtype),
    ):
        with pytest.raises(TypeError, match=r"^dtype: expected float32 or float64, got "):
            call()
    with pytest.raises(ValueError, match="dtype"):  # scikit-learn's InvalidParameterError
        NetworkClassifier(dtype=dtype).fit(np.eye(2), [0, 1])


@pytest.mark.parametrize("name", sorted(V.HYPER))
def test_interval_edges(name):
    iv = V.HYPER[name]
    low = iv.low
    if iv.low_open:
        with pytest.raises(ValueError, match=rf"^{name}: expected a value in \("):
            V.check_hyper(name, low)
    else:
        assert V.check_hyper(name, low) == low
        with pytest.raises(ValueError, match=rf"^{name}: expected a value in \["):
            V.check_hyper(name, low - 1)
    if iv.high is not None:
        with pytest.raises(ValueError, match=rf"^{name}: expected a value in "):
            V.check_hyper(name, iv.high + (0 if iv.high_open else 1))
    with pytest.raises(TypeError, match=rf"^{name}: expected (an integer|a number), got 'x'"):
        V.check_hyper(name, "x")
