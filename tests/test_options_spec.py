"""The training options are declared once, in fastnn/_vocabulary.py (``SGDArguments``: name, type,
default and position, and each one's ``Option``: check, help, flag, tunable, recorded; the
estimators' ``ESTIMATOR`` table): no other module lists them by hand, and what is generated from the
spec — Network.SGD's signature and checks, the history's settings, tune's names and default space,
the estimators' parameters and constraints, the command line's training flags — says what the spec
says."""

import argparse
import ast
import dataclasses
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn import _state
from fastnn import _vocabulary as V

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fastnn"
SPEC = PACKAGE / "_vocabulary.py"

#: Hand-written signatures that may name three or more options, and why (qualified name -> reason;
#: with the module's stem where a name is not unique).
ALLOWED = {
    ("_numpy_network", "NumpyNetwork.SGD"): "network2's own SGD in numpy (the oracle's and the user-cost "
    "step's equations), kept the book's on purpose",
    ("_numpy_network", "NumpyNetwork.update_mini_batch"): "network2's own step in numpy",
    (None, "UserCostStep.begin"): "mirrors the compiled core's Trainer.begin (the epoch-step interface)",
    (None, "eta_threshold"): "the book's threshold procedure: its own parameters and defaults "
    "(epochs=3 probe epochs), checked by the options' rules",
}


def _option_names():
    return set(V.OPTIONS)


def _listed_names(node, names):
    """The option names a literal, a dict(...) call or a def names by hand (None: not such a node)."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):  # of names, or a table of rows naming them
        found = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        for row in node.elts:
            if isinstance(row, (ast.List, ast.Tuple)) and row.elts and isinstance(row.elts[0], ast.Constant):
                found.append(row.elts[0].value)
    elif isinstance(node, ast.Dict):
        found = [k.value for k in node.keys if isinstance(k, ast.Constant)]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        found = [k.arg for k in node.keywords]
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = node.args
        found = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    else:
        return None
    return sorted({f for f in found if isinstance(f, str) and f in names})


def hand_lists(path, names):
    """[(line, what, names)] of the places of a module that list three or more option names."""
    tree = ast.parse(path.read_text(), str(path))
    out = []

    def visit(node, scope):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope = [*scope, node.name]
        found = _listed_names(node, names)
        if found is not None and len(found) >= 3:
            qualname = ".".join(scope)
            if (path.stem, qualname) not in ALLOWED and (None, qualname) not in ALLOWED:
                out.append((node.lineno, qualname or type(node).__name__, found))
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(tree, [])
    return out


def test_no_module_but_the_spec_lists_the_options_by_hand():
    names = _option_names()
    modules = sorted(p for p in PACKAGE.rglob("*.py") if p != SPEC)
    assert len(modules) > 10
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {what} names {', '.join(found)}"
        for path in modules
        for line, what, found in hand_lists(path, names)
    ]
    assert not offending, (
        "these modules list three or more training options by hand; derive them from "
        "fastnn/_vocabulary.py (SGDArguments / OPTIONS / ESTIMATOR) instead:\n" + "\n".join(offending)
    )


def test_the_scan_finds_a_hand_written_list(tmp_path):
    names = _option_names()
    module = tmp_path / "m.py"
    module.write_text(
        "NAMES = ('eta', 'lmbda', 'momentum')\n"
        "def f(x, eta, lmbda=0.0, *, dropout=0.0):\n    return dict(eta=eta, lmbda=lmbda, dropout=dropout)\n"
        "SETTINGS = {'eta': 1, 'epochs': 2}\n"
        "ROWS = (('eta', '--eta'), ('lmbda', '--lmbda'), ('epochs', '--epochs'))\n"
    )
    found = hand_lists(module, names)
    assert [(line, what) for line, what, _ in found] == [(1, "Tuple"), (2, "f"), (3, "f"), (5, "Tuple")]


# ---- Network.SGD ------------------------------------------------------------------------------
def test_sgd_signature_is_the_spec():
    sig = inspect.signature(fastnn.Network.SGD)
    assert sig == V.sgd_signature()
    params = sig.parameters
    assert list(params)[:2] == ["self", "training_data"]
    for name, default in V.DEFAULTS.items():
        assert params[name].default is default or params[name].default == default, name
    # network2's positional order is kept, the chapter's extras are keyword-only
    positional = [n for n, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == [
        "self",
        "training_data",
        "epochs",
        "mini_batch_size",
        "eta",
        "lmbda",
        "evaluation_data",
        "monitor_evaluation_cost",
        "monitor_evaluation_accuracy",
        "monitor_training_cost",
        "monitor_training_accuracy",
        "shuffle",
    ]
    assert params["n_threads"].annotation == "int | None"


def test_check_options_returns_one_frozen_object_and_names_the_argument():
    o = V.check_options(epochs=2, mini_batch_size=5, eta=1)
    assert isinstance(o, V.TrainingOptions) and o.eta == 1.0 and isinstance(o.eta, float)
    assert o.min_eta_ratio == 1 / 128 and o.early_stopping is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.eta = 2.0
    for name, option in V.OPTIONS.items():
        if isinstance(option.check, V.Interval) and option.check.high is not None:
            bad = option.check.high + 1
            with pytest.raises(ValueError, match=rf"^{name}: expected a value in .*, got "):
                V.check_options(**{"epochs": 1, "mini_batch_size": 1, "eta": 1.0, name: bad})
        elif isinstance(option.check, tuple) and not isinstance(option.check, V.Interval):
            with pytest.raises(ValueError, match=rf"^{name}: expected one of .*, got 'nope'"):
                V.check_options(**{"epochs": 1, "mini_batch_size": 1, "eta": 1.0, name: "nope"})
    with pytest.raises(TypeError, match="unexpected training option 'bogus'"):
        V.check_options(epochs=1, mini_batch_size=1, eta=1.0, bogus=1)


def test_sgd_refuses_before_anything_changes_with_the_spec_message():
    net = fastnn.Network([4, 3, 2], seed=0)
    before = _state.parameters(net).copy()
    X, y = np.zeros((6, 4)), np.zeros(6, dtype=int)
    with pytest.raises(ValueError, match=r"^eta_decay: expected a value in \(0.0, 1.0\), got 1.0$"):
        net.SGD((X, y), 1, 2, 0.5, eta_decay=1.0)
    with pytest.raises(TypeError, match=r"SGD\(\) got an unexpected keyword argument 'bogus'"):
        net.SGD((X, y), 1, 2, 0.5, bogus=1)
    with pytest.raises(TypeError, match="callback: expected a callable"):
        net.SGD((X, y), 1, 2, 0.5, callback=3)
    assert np.array_equal(_state.parameters(net), before) and net.history is None


def test_history_settings_are_the_recorded_options():
    net = fastnn.Network([4, 3, 2], seed=0)
    X, y = np.random.default_rng(0).random((6, 4)), np.arange(6) % 2
    net.SGD((X, y), 1, 2, 0.5, 0.1, momentum=0.5, shuffle=0)
    settings = net.history.settings
    recorded = {name for name, o in V.OPTIONS.items() if o.setting}
    assert set(settings) == recorded | {"n_training", "n_evaluation"}
    assert settings["shuffle"] is False and settings["momentum"] == 0.5 and settings["lmbda"] == 0.1
    assert {"epochs", "mini_batch_size", "eta", "lmbda", "eta_decay"} <= recorded


# ---- tune ---------------------------------------------------------------------------------------
def test_tune_names_and_default_space_come_from_the_spec():
    tune = pytest.importorskip("fastnn.tune")
    pytest.importorskip("optuna")
    assert tune.SGD_ARGS == tuple(n for n, o in V.OPTIONS.items() if o.tunable)
    assert tune.TUNABLE == tune.NETWORK_ARGS + tune.SGD_ARGS + (tune.WIDTH,)
    assert set(tune._SET_BY_TUNE) == {"self", "training_data", "evaluation_data"} | {
        n for n, o in V.OPTIONS.items() if not o.tunable
    }
    space = tune.default_space(1000, width=False)
    assert list(space) == list(V.SEARCHED)  # in the spec's sampling order
    assert space["eta"].low == V.OPTIONS["eta"].search.low and space["eta"].log
    assert space["lmbda"].low == pytest.approx(1000 * V.OPTIONS["lmbda"].search.low)
    assert space["mini_batch_size"].choices == V.OPTIONS["mini_batch_size"].search.choices
    assert tune.default_space(15, width=False)["mini_batch_size"].choices == (10,)


# ---- estimators -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["NetworkClassifier", "NetworkRegressor"])
def test_estimator_parameters_and_constraints_come_from_the_spec(name):
    sk = pytest.importorskip("fastnn.sklearn")
    cls = getattr(sk, name)
    params = cls().get_params()
    expected = set(V.ESTIMATOR) - ({"class_weight"} if name == "NetworkRegressor" else set())
    assert set(params) == expected == set(cls._parameter_constraints)
    assert list(inspect.signature(cls).parameters) == [n for n in V.ESTIMATOR if n in expected]
    for param, spec in V.ESTIMATOR.items():
        if param not in expected:
            continue
        if spec.option is not None:  # the option's own rule, and its default for the estimators
            rule = V.OPTIONS[spec.option].check
            constraint = cls._parameter_constraints[param][0]
            if isinstance(rule, V.Interval):
                assert (constraint.left, constraint.right) == (rule.low, rule.high), param
            elif isinstance(rule, tuple):
                assert constraint.options == set(rule), param
            assert (None in cls._parameter_constraints[param]) == spec.none, param
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        cls(bogus=1)
    assert cls(eta=0.25, epochs=3).get_params()["eta"] == 0.25


def test_estimators_hand_the_passed_parameters_to_sgd(monkeypatch):
    sk = pytest.importorskip("fastnn.sklearn")
    seen = {}
    original = fastnn.Network.SGD

    def spy(self, *args, **kwargs):
        seen.update(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(fastnn.Network, "SGD", spy)
    X, y = np.random.default_rng(0).random((20, 3)), np.arange(20) % 2
    sk.NetworkClassifier(epochs=1, momentum=0.25, dropout=0.1, regularization="l1", shuffle=False).fit(X, y)
    assert {k: seen[k] for k in V.ESTIMATOR_PASSED} == {
        "regularization": "l1",
        "momentum": 0.25,
        "dropout": 0.1,
        "shuffle": False,
        "n_threads": 1,
    }


# ---- the command line -------------------------------------------------------------------------
def _inside(iv):
    low = 0 if iv.low is None else iv.low
    value = low + 1 if iv.high is None else (low + iv.high) / 2
    return int(value) if iv.integer else float(value)


def _outside(iv):
    value = iv.low - 1 if iv.low is not None else iv.high + 1
    return int(value) if iv.integer else float(value)


def _actions(parser):
    return {a.dest: a for a in parser._actions}


@pytest.mark.parametrize("command", ["train", "tune"])
def test_cli_training_flags_are_the_spec(command):
    from fastnn.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    actions = _actions(sub)
    for name, flag in V.FLAGS.items():
        action = actions[flag.dest or name]
        assert action.option_strings == flag.flags.split(), name
        assert action.help == (flag.help or V.OPTIONS[name].help), name
        assert action.metavar == flag.metavar, name
        if flag.negate:
            assert isinstance(action, argparse._StoreFalseAction), name
        elif command == "train" or V.OPTIONS[name].search is None:
            assert action.default == flag.default, name
        else:  # tune searches these unless given
            assert action.default is None, name
        if not flag.negate:  # the flag's parser applies the option's rule (or the flag's own)
            rule = flag.interval or V.OPTIONS[name].check
            if isinstance(rule, V.Interval):
                inside, outside = _inside(rule), _outside(rule)
                assert action.type(str(inside)) == inside, name
                with pytest.raises(
                    argparse.ArgumentTypeError, match=re.escape(f"expected a value in {rule}")
                ):
                    action.type(str(outside))
            elif isinstance(rule, tuple):
                assert tuple(action.choices) == rule, name
    # the training group holds the spec's flags (and only those)
    group = next(g for g in sub._action_groups if g.title == "training")
    assert {a.dest for a in group._group_actions} == {f.dest or n for n, f in V.FLAGS.items()}


def test_sgd_docstring_documents_every_option_with_its_default():
    """The docstring's Parameters section is prose kept by hand: it names every option and, where
    it states a default, the spec's."""
    doc = inspect.getdoc(fastnn.Network.SGD)
    lines = {line.split(" : ")[0]: line for line in doc.splitlines() if " : " in line}
    for name, default in V.DEFAULTS.items():
        assert name in lines, f"Network.SGD's docstring does not document {name}"
        stated = lines[name].partition(", default ")[2]
        if stated and default is not V.REQUIRED:
            forms = (repr(default), str(default), f'"{default}"') + (("1/128",) if default == 1 / 128 else ())
            assert stated in forms, (name, stated, default)
