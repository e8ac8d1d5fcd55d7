"""Strict validation of a checkpoint's training state (issue #23): every field of a real checkpoint
(written by fastnn 0.2.0, tests/fixtures/checkpoint-0.2.0.json) mutated in turn — wrong type,
NaN/inf, negative, huge, missing — is refused by ``fastnn.load`` with a ValueError naming the file
and the field, nothing applied; the commands print one error line, never a traceback; a refused
``SGD(resume=True)`` leaves the network as it was; 0.2.0's files keep loading."""

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn import _state, cli
from fastnn._model_writer import finite_or_none

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHECKPOINT = FIXTURES / "checkpoint-0.2.0.json"
MODEL = FIXTURES / "model-0.2.0.json"


_CHECKPOINT_DOC = json.loads(CHECKPOINT.read_text())


def _doc():
    return copy.deepcopy(_CHECKPOINT_DOC)


# --------------------------------------------------------------------------------------------------
# every field, every mutation
# --------------------------------------------------------------------------------------------------
FREE_FORM = {"state.run.history.settings"}  # the SGD call's settings: informational, any JSON
# fields where a value of -1 is legitimate: scores, costs and parameter/velocity values
NEGATIVE_OK = (
    "state.run.watch.best_score",
    "_cost",
    "training_loss",
    "state.velocity[0]",
    "state.run.params[0]",
    "state.run.velocity[0]",
    "state.run.watch.best_params[0]",
    "state.run.watch.best_velocity[0]",
)


def _paths(value, path):
    """(path, container, key) of every field under ``value``: object members, the first element
    of each list (of numbers, of records), recursively."""
    if path in FREE_FORM:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{path}.{k}"
            yield p, value, k
            yield from _paths(v, p)
    elif isinstance(value, list) and value:
        p = f"{path}[0]"
        yield p, value, 0
        yield from _paths(value[0], p)


MUTATIONS = {
    "string": "x",
    "list": [1, 2],
    "object": {"a": 1},
    "bool": True,
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "negative": -1,
    "huge": 10**400,  # valid JSON; more than any float or counter
    "missing": None,  # the member deleted (list elements: the list shortened)
}


def _cases():
    doc = _doc()
    for path, container, key in _paths(doc["state"], "state"):
        for name in MUTATIONS:
            if name == "negative" and any(tag in path for tag in NEGATIVE_OK):
                continue
            if name == "bool" and isinstance(container[key], bool):  # the other boolean is valid
                continue
            if name == "object" and path in FREE_FORM:  # any object is valid there
                continue
            yield path, name


CASES = list(_cases())


def _mutated(path, mutation):
    doc = _doc()
    for p, container, key in _paths(doc["state"], "state"):
        if p == path:
            if mutation == "missing":
                del container[key]
            else:
                container[key] = copy.deepcopy(MUTATIONS[mutation])
            return doc
    raise AssertionError(path)


def _field_of(path):
    """The name the error must give: the path, or its parent for a list element whose removal
    makes the list itself wrong (a permutation, a state of 4 numbers...)."""
    return path.split("[")[0]


def test_there_are_many_cases():
    assert len({p for p, _ in CASES}) >= 55 and len(CASES) > 500


@pytest.mark.slow  # ~60 fields x 10 mutations, a second per mutation
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_every_field_mutated_is_refused_naming_file_and_field(tmp_path, mutation):
    f = tmp_path / "ck.json"
    wrong = []
    for path in [p for p, m in CASES if m == mutation]:
        f.write_text(json.dumps(_mutated(path, mutation)))
        try:
            fastnn.load(f)
        except ValueError as e:
            msg = str(e)
            # the field is named: the mutated one, or (lists) the list or a member reached first
            named = msg.split(": ")[2] if msg.count(": ") >= 2 else ""
            if not (
                msg.startswith(f"{f}: invalid checkpoint: ")
                and named.startswith(_field_of(path).rsplit(".", 1)[0])
                and len(msg.splitlines()) == 1
                and len(msg) < 400
            ):
                wrong.append((path, msg))
        else:
            wrong.append((path, "accepted"))
    assert not wrong, wrong


def test_mutations_name_the_exact_field(tmp_path):
    """Spot checks: the message names the leaf itself."""
    for path, mutation, text in [
        ("state.run.eta", "nan", "state.run.eta: expected a finite number"),
        ("state.run.epoch", "negative", "state.run.epoch: expected an integer from 0"),
        ("state.run.watch.best_epoch", "huge", "state.run.watch.best_epoch: expected an integer"),
        ("state.rng.state.inc", "string", "state.rng.state.inc: expected an integer"),
        ("state.run.history.records[0].eta", "missing", "state.run.history.records[0].eta: missing"),
        ("state.run.perm[0]", "huge", "state.run.perm: expected a permutation"),
        ("state.seed", "negative", "state.seed: expected an integer from 0"),
        ("state.run.history.stop_reason", "string", "state.run.history.stop_reason: expected one of"),
    ]:
        f = tmp_path / "ck.json"
        f.write_text(json.dumps(_mutated(path, mutation)))
        with pytest.raises(ValueError) as e:
            fastnn.load(f)
        assert f"{f}: invalid checkpoint: {text}" in str(e.value)


def _fresh():
    return fastnn.Network([4, 5, 3], dtype="float32", seed=0)


def test_nothing_is_applied_until_everything_is_valid():
    """_state_from_dict checks all fields before touching the network: a bad last field (the
    history) leaves the generator, the velocity and the run untouched."""
    net = _fresh()
    before = (
        _state.generator(net).bit_generator.state,
        _state.velocity(net),
        _state.run_state(net),
        net.history,
        net.seed,
    )
    doc = _mutated("state.run.history.records[0].seconds", "nan")
    with pytest.raises(fastnn.io._Bad):
        fastnn.io._state_from_dict(net, doc["state"])
    assert (
        _state.generator(net).bit_generator.state,
        _state.velocity(net),
        _state.run_state(net),
        net.history,
        net.seed,
    ) == before


def test_unknown_fields_are_refused(tmp_path):
    for where in ("state", "run", "watch"):
        doc = _doc()
        target = {"state": doc["state"], "run": doc["state"]["run"], "watch": doc["state"]["run"]["watch"]}
        target[where]["surprise"] = 1
        f = tmp_path / "ck.json"
        f.write_text(json.dumps(doc))
        with pytest.raises(ValueError, match="surprise: unknown field"):
            fastnn.load(f)


# --------------------------------------------------------------------------------------------------
# the 0.2.0 files keep loading, and resume
# --------------------------------------------------------------------------------------------------
def test_files_written_by_0_2_0_load():
    model = fastnn.load(MODEL)
    assert model.sizes == (4, 5, 3) and model.dtype == np.float64 and _state.run_state(model) is None
    net = fastnn.load(CHECKPOINT)
    state = _state.run_state(net)
    assert net.dtype == np.float32 and state["epoch"] == 12 and len(net.history.records) == 12
    assert state["params"] is not None and state["watch"]["best_params"] is not None
    assert net.seed == 11


def test_checkpoint_written_by_0_2_0_resumes():
    rng = np.random.default_rng(1)
    X = rng.random((60, 4))
    y = (X[:, 0] + X[:, 1] > X[:, 2] + 0.5).astype(int) + (X[:, 3] > 0.7)
    net = fastnn.load(CHECKPOINT)
    net.SGD((X, y), 2, 10, 2.0, lmbda=0.1, momentum=0.5, resume=True)
    assert [r.epoch for r in net.history.records] == list(range(1, 15))
    assert np.all(np.isfinite(_state.parameters(net)))


def test_json_integer_of_5000_digits_names_the_file(tmp_path):
    doc = json.loads(MODEL.read_text())
    f = tmp_path / "m.json"
    f.write_text(
        json.dumps(doc)
        .replace('"sizes":[4,', '"sizes":[' + "9" * 5000 + ",", 1)
        .replace('"sizes": [4,', '"sizes": [' + "9" * 5000 + ",", 1)
    )
    with pytest.raises(ValueError, match=rf"^{f}: not a fastnn/network2 model file: .*digits"):
        fastnn.load(f)


# --------------------------------------------------------------------------------------------------
# a refused resume changes nothing
# --------------------------------------------------------------------------------------------------
def test_refused_resume_leaves_the_network_as_it_was():
    rng = np.random.default_rng(1)
    X = rng.random((60, 4))
    y = rng.integers(0, 3, 60)
    net = fastnn.load(CHECKPOINT)
    _state.run_state(net)["step_rng"] = (0, 0, 0, 0)  # the trainer refuses it, after the state is applied
    params, velocity = _state.parameters(net).copy(), _state.velocity(net).copy()
    rng_state, history = _state.generator(net).bit_generator.state, net.history
    with pytest.raises(ValueError):
        net.SGD((X, y), 1, 10, 0.5, momentum=0.5, resume=True)
    assert np.array_equal(_state.parameters(net), params) and np.array_equal(_state.velocity(net), velocity)
    assert _state.generator(net).bit_generator.state == rng_state and net.history is history


# --------------------------------------------------------------------------------------------------
# the commands: one error line
# --------------------------------------------------------------------------------------------------
CLI_CASES = [
    ("state.run.eta", "nan"),
    ("state.run.epoch", "huge"),
    ("state.rng", "missing"),
    ("state.run.history.records[0]", "string"),
    ("state.run.perm[0]", "negative"),
    ("state.run.step_rng", "object"),
]


@pytest.mark.slow  # every command, export included
@pytest.mark.parametrize("path,mutation", CLI_CASES)
def test_commands_print_one_error_line(tmp_path, capsys, path, mutation, monkeypatch):
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "none"))
    f = tmp_path / "ck.json"
    f.write_text(json.dumps(_mutated(path, mutation)))
    data = tmp_path / "d.csv"
    data.write_text("".join(f"{i % 5 / 5},{i % 3 / 3},{i % 7 / 7},{i % 2},{i % 3}\n" for i in range(60)))
    train = ["train", "--data", str(data), "--sizes", "4,5,3", "--dtype", "float32"]
    commands = [
        ["evaluate", str(f), "--data", str(data)],
        ["predict", str(f), "--input", str(data)],
        ["export", str(f), str(tmp_path / "out.onnx")],
        [*train, "--checkpoint", str(f), "--resume", "--epochs", "3", "-q"],
    ]
    for argv in commands:
        code = cli.main(argv)
        out, err = capsys.readouterr()
        assert code == 1, (argv, code, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
        assert (
            str(f) in lines[0]
            and "invalid checkpoint" in lines[0]
            and path.split("[")[0].split(".")[1] in lines[0]
        )


# --------------------------------------------------------------------------------------------------
# the fields the current format added (version 2): the model file's history, every field mutated
# --------------------------------------------------------------------------------------------------
def _build_current_doc():
    rng = np.random.default_rng(1)
    X = rng.random((40, 4))
    y = rng.integers(0, 3, 40)
    net = fastnn.Network([4, 5, 3], seed=3)
    net.SGD((X, y), 2, 10, 0.5, evaluation_data=(X[:10], y[:10]), monitor_evaluation_accuracy=True)
    return json.loads(json.dumps(fastnn.io.to_dict(net) | {"history": finite_or_none(net.history.to_dict())}))


_CURRENT = None


def _current_doc():
    """A model file of the current format with a history (built once, copied per use)."""
    global _CURRENT
    if _CURRENT is None:
        _CURRENT = _build_current_doc()
    return copy.deepcopy(_CURRENT)


def _history_cases():
    doc = _current_doc()
    for path, container, key in _paths(doc["history"], "history"):
        for name in MUTATIONS:
            if name == "negative" and any(tag in path for tag in NEGATIVE_OK):
                continue
            if name == "bool" and isinstance(container[key], bool):
                continue
            if path.startswith("history.settings") or (name == "object" and path == "history.settings"):
                continue
            yield path, name


HISTORY_CASES = list(_history_cases())


@pytest.mark.slow
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_model_history_fields_mutated_are_refused(tmp_path, mutation):
    f = tmp_path / "m.json"
    wrong = []
    for path in [p for p, m in HISTORY_CASES if m == mutation]:
        doc = _current_doc()
        for p, container, key in _paths(doc["history"], "history"):
            if p == path:
                if mutation == "missing":
                    del container[key]
                else:
                    container[key] = copy.deepcopy(MUTATIONS[mutation])
                break
        f.write_text(json.dumps(doc))
        try:
            fastnn.load(f)
        except ValueError as e:
            msg = str(e)
            if not (msg.startswith(f"{f}: invalid model file: history") and len(msg) < 400):
                wrong.append((path, msg))
        else:
            wrong.append((path, "accepted"))
    assert not wrong, wrong
