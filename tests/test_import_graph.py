"""fastnn's import graph has no cycle (issue #25): every import of a fastnn module by a fastnn module —
at module level or inside a function, absolute or relative, in .py files and in the compiled core's
.pyx (imports and cimports) — is an edge; ``if TYPE_CHECKING:`` blocks are left out (never run).
The package's lazy attributes (``fastnn/__init__.py``'s ``_LAZY`` and ``_SUBMODULES``, imported on
first use by ``__getattr__``) are edges of ``fastnn`` too, so a submodule that reaches a name through
the package (``import fastnn; fastnn.Network``) instead of from its module closes a cycle.

Also: product code never imports the tests' oracle (``fastnn.reference``), the oracle imports only
the pure numpy pieces it is built from, and the input checks (``fastnn._validation``) work without
the compiled core.

Parsed from the source, never imported, so the test needs no build and sees function-local imports."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fastnn"

#: all the oracle may import from fastnn, directly or not: the pure numpy network of the book's
#: equations (fastnn/_numpy_network.py, shared with the user-cost epoch step so the math exists once),
#: the cost functions it trains with (fastnn/costs.py: a user's cost class is a costs.UserCost) and the
#: names they use (fastnn/_vocabulary.py); nothing compiled, no data module
REFERENCE_MAY_IMPORT = {"fastnn._numpy_network", "fastnn.costs", "fastnn._vocabulary"}


def _modules():
    """{dotted name: (path, is a package)} for every module of fastnn (.py, .pyx, .pxd)."""
    mods = {}
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".pyx", ".pxd") or "__pycache__" in path.parts:
            continue
        parts = ["fastnn", *path.relative_to(PACKAGE).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        mods.setdefault(".".join(parts), (path, is_package))
    return mods


def _resolve(name, mods):
    """The module an imported dotted name lives in (fastnn.io.load -> fastnn.io)."""
    while name not in mods and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _targets(importer, is_package, level, module, names, mods):
    """The fastnn modules that ``from <level dots><module> import <names>`` in ``importer`` loads:
    ``from . import x`` is the submodule x when there is one, else a name of the package."""
    if level:
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[: len(base) - (level - 1)]
        module = ".".join(base + ([module] if module else []))
    if not module or module.split(".")[0] != "fastnn":
        return set()
    out = set()
    for name in names or ("",):
        sub = f"{module}.{name}"
        out.add(sub if name and sub in mods else _resolve(module, mods))
    return out


def _is_type_checking(node):
    test = node.test
    return getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == "TYPE_CHECKING"


def _python_imports(name, path, is_package, mods):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = set()
    stack = [tree]
    while stack:
        for node in ast.iter_child_nodes(stack.pop()):
            if isinstance(node, ast.If) and _is_type_checking(node):
                stack.append(ast.Module(body=node.orelse, type_ignores=[]))
                continue
            if isinstance(node, ast.Import):
                out |= {_resolve(a.name, mods) for a in node.names if a.name.split(".")[0] == "fastnn"}
            elif isinstance(node, ast.ImportFrom):
                out |= _targets(name, is_package, node.level, node.module, [a.name for a in node.names], mods)
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).startswith("fastnn")
            ):
                out.add(_resolve(node.args[0].value, mods))
            stack.append(node)
    if is_package:  # PEP 562 lazy attributes: {name: module} and (module, ...)
        for node in tree.body:
            target = getattr(node, "targets", [None])[0]
            if isinstance(node, ast.Assign) and getattr(target, "id", None) in ("_LAZY", "_SUBMODULES"):
                value = ast.literal_eval(node.value)
                for sub in value.values() if isinstance(value, dict) else value:
                    out.add(_resolve(f"{name}.{sub}", mods))
    return out


_CYTHON_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+c?import[ \t]+\(?([\w ,\t]+)", re.M)
_CYTHON_IMPORT = re.compile(r"^[ \t]*c?import[ \t]+([\w., \t]+)", re.M)


def _cython_imports(name, path, is_package, mods):
    text = path.read_text(encoding="utf-8")
    out = set()
    for m in _CYTHON_FROM.finditer(text):
        names = [n.split(" as ")[0].strip() for n in m.group(3).split(",") if n.strip()]
        out |= _targets(name, is_package, len(m.group(1)), m.group(2) or None, names, mods)
    for m in _CYTHON_IMPORT.finditer(text):
        for dotted in m.group(1).split(","):
            dotted = dotted.split(" as ")[0].strip()
            if dotted.split(".")[0] == "fastnn":
                out.add(_resolve(dotted, mods))
    return out


def import_graph():
    """{module: set of fastnn modules it imports}."""
    mods = _modules()
    graph = {}
    for name, (path, is_package) in mods.items():
        reader = _python_imports if path.suffix == ".py" else _cython_imports
        graph[name] = reader(name, path, is_package, mods) - {name}
    return graph


def find_cycle(graph):
    """One cycle as [a, b, ..., a], or None (depth-first search, three colours)."""
    state = {}
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = "open"
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = "done"
                stack.pop()
            elif state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = "open"
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_the_graph_sees_every_kind_of_import(graph):
    """The parser is checked on imports it must see: relative submodules (``from . import _core``),
    names from a module (``from .costs import ...``), function-local imports, the package's lazy
    attributes and the compiled core's imports."""
    assert "fastnn._core" in graph["fastnn.network"]  # from . import _core
    assert "fastnn.costs" in graph["fastnn.network"]  # from .costs import UserCost, ...
    assert "fastnn._model_writer" in graph["fastnn.network"]  # function-local: Network.save
    assert "fastnn.network" in graph["fastnn.io"]  # function-local: load
    assert "fastnn.plotting" in graph["fastnn.history"]  # function-local: History.plot
    assert {"fastnn.network", "fastnn.io", "fastnn._core"} <= graph["fastnn"]  # _LAZY
    assert "fastnn._vocabulary" in graph["fastnn._core"]  # the .pyx: from . import _vocabulary as _v
    assert "fastnn._gemm" in graph["fastnn._core"]  # the .pyx: from ._gemm cimport gemm


def test_no_cycle(graph):
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_find_cycle_reports_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_product_code_never_imports_the_oracle(graph):
    # the package itself only names it among the submodules `fastnn.<name>` loads on first use
    users = sorted(m for m, targets in graph.items() if "fastnn.reference" in targets and m != "fastnn")
    assert users == [], f"product modules importing the tests' oracle fastnn.reference: {users}"


def reached(graph, module):
    """Every module that importing ``module`` may import, directly or not."""
    reach, todo = set(), [module]
    while todo:
        for dep in graph[todo.pop()]:
            if dep not in reach:
                reach.add(dep)
                todo.append(dep)
    return reach


def test_the_oracle_is_pure_numpy(graph):
    """fastnn.reference imports only the pure pieces it is built from (no data module, no core)."""
    extra = reached(graph, "fastnn.reference") - REFERENCE_MAY_IMPORT
    assert not extra, f"fastnn.reference reaches {sorted(extra)}"


def test_validation_does_not_need_the_compiled_core(graph):
    """The input checks (used by the core-free data, io and sklearn modules) import nothing compiled."""
    assert not reached(graph, "fastnn._validation") & {"fastnn._core", "fastnn"}
