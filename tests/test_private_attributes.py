"""Only fastnn/network.py and fastnn/_state.py (the home of the training state) touch a Network's
private attributes; every other module of the package, every test and every benchmark script goes
through the public API or fastnn._state (the tests of the compiled core take the buffers it works
on from fastnn._state too).

A "private attribute of a Network" is a name collected from network.py itself: every ``self._x``
that class Network assigns, every ``_x`` method it defines and every ``_x`` it declares in its class
body (dunder names aside). A reach is an attribute access ``<expr>._x`` with such a name on anything
but ``self`` (so another class's own ``self._x`` is not counted), or ``getattr``/``setattr``/
``hasattr``/``delattr`` with that name as a constant string, or ``<name>._x`` inside a string
constant (the code a test runs in a child process).
"""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fastnn"
HOMES = {PACKAGE / "network.py", PACKAGE / "_state.py"}


def network_private_names() -> set[str]:
    tree = ast.parse((PACKAGE / "network.py").read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Network"]
    names = set()
    for node in ast.walk(cls):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            names.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
    for node in cls.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _in_code(names: set[str]) -> re.Pattern[str]:
    """``<expr>._x`` in a string (the code a test runs in a child process); group 1 is the
    object (``self._x`` is skipped by the caller), group 2 the name."""
    return re.compile(r"([\w\]\)]+)\.(" + "|".join(sorted(names)) + r")\b")


def reaches(path: pathlib.Path, names: set[str]) -> list[str]:
    """``path:line: name`` of every reach in the file (path relative to the checkout)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute) and node.attr in names:
            if not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                name = node.attr
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in names
        ):
            name = node.args[1].value
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):  # a child's code
            for match in _in_code(names).finditer(node.value):
                if match[1] == "self":
                    continue
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
                found.append(
                    f"{where}:{node.lineno + node.value[: match.start()].count(chr(10))}: {match[2]}"
                )
        if name is not None:
            where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
            found.append(f"{where}:{node.lineno}: {name}")
    return sorted(found, key=lambda hit: int(hit.split(":")[1]))


def test_network_private_names_are_found():
    names = network_private_names()
    # the state the training changes, the compiled layout, and the internal passes
    assert {"_params", "_velocity", "_rng", "_train_state", "_layout", "_w", "_b", "_dataset"} <= names
    assert "__init__" not in names and "weights" not in names


def test_only_network_and_state_modules_touch_network_internals():
    names = network_private_names()
    modules = sorted(p for p in PACKAGE.rglob("*.py") if p not in HOMES)
    assert len(modules) > 10, modules
    found = [hit for p in modules for hit in reaches(p, names)]
    assert not found, (
        "modules other than fastnn/network.py and fastnn/_state.py touch a Network's private "
        "attributes (use the public API or fastnn._state):\n" + "\n".join(found)
    )


@pytest.mark.parametrize("directory", ["tests", "bench"])
def test_tests_and_benchmarks_use_public_api_or_the_state_module(directory):
    names = network_private_names()
    files = sorted((ROOT / directory).rglob("*.py"))
    found = [hit for p in files if p.name != pathlib.Path(__file__).name for hit in reaches(p, names)]
    assert not found, (
        f"{directory}/ reaching into a Network's private attributes (use the public API, "
        "conftest.snapshot or fastnn._state):\n" + "\n".join(found)
    )


def test_the_check_sees_a_reach(tmp_path):
    """The scanner itself: a reach through another object, a chained one and a getattr are found;
    a class's own ``self._x`` with a Network name is not."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "class A:\n"
        "    def f(self, net):\n"
        "        self._params = 1\n"
        "        x = net._params\n"
        "        y = getattr(net, '_train_state', None)\n"
        "        return self.est.network_._rng, net.weights\n"
        "CHILD = '''\n"
        "self._w = 1\n"
        "print(net._velocity)\n"
        "'''\n"
    )
    assert reaches(probe, network_private_names()) == [
        "probe.py:4: _params",
        "probe.py:5: _train_state",
        "probe.py:6: _rng",
        "probe.py:9: _velocity",
    ]
