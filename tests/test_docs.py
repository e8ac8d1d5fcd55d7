"""The API reference lists every public name: the built inventory (objects.inv) is compared with each
public module's ``__all__``. The module list is derived from the code (docs/_apigen.py), so modules
that land later (fastnn.tune, fastnn.export, ...) are checked as soon as they exist."""

import importlib.util
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: The modules the reference must cover (the issue's list); each is required once its file exists.
REQUIRED = ["fastnn", "fastnn.data", "fastnn.sklearn", "fastnn.tune", "fastnn.export"]


@pytest.fixture(scope="module")
def apigen():
    sys.path.insert(0, str(DOCS))
    try:
        import _apigen
    finally:
        sys.path.remove(str(DOCS))
    return _apigen


def _present(module):
    return module == "fastnn" or (ROOT / (module.replace(".", "/") + ".py")).exists()


def test_every_required_module_is_in_the_reference(apigen):
    """fastnn.tune / fastnn.export are picked up when they exist: they need an ``__all__``."""
    modules = apigen.public_modules()
    for module in REQUIRED:
        if _present(module):
            assert module in modules, f"{module} defines no __all__, so the API reference skips it"


def test_all_lists_only_existing_names(apigen):
    for module in apigen.public_modules():
        mod = importlib.import_module(module)
        missing = [name for name in mod.__all__ if not hasattr(mod, name)]
        assert not missing, f"{module}.__all__ names what the module lacks: {missing}"


def _inventory(path):
    """{(domain:role, name)} of a Sphinx objects.inv (format version 2)."""
    data = path.read_bytes()
    body = b"".join(data.split(b"\n", 4)[4:])
    entries = set()
    for line in zlib.decompress(body).decode().splitlines():
        name, role = line.split(" ", 2)[:2]
        entries.add((role, name))
    return entries


@pytest.mark.slow
def test_built_reference_lists_every_public_name(apigen, tmp_path):
    for tool in ("sphinx", "numpydoc", "myst_parser"):
        if importlib.util.find_spec(tool) is None:
            pytest.skip(f"{tool} not installed (pip install '.[docs]')")
    out = tmp_path / "html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"the docs build failed (warnings are errors):\n{proc.stderr}"
    documented = {name for role, name in _inventory(out / "objects.inv") if role.startswith("py:")}
    for module in apigen.public_modules():
        assert module in documented, f"no page for module {module}"
        names = [f"{module}.{name}" for name in apigen.public_names(module)]
        missing = [name for name in names if name not in documented]
        assert not missing, f"the API reference lacks these names of {module}.__all__: {missing}"
        assert (out / "api" / f"{module}.html").exists()


# ---- the README is a front page (issue #25) -------------------------------------------------------
README_LIMIT = 12 * 1024
SETUP_COMMANDS = ["pip install . && fastnn", 'pip install ".[test]" && pytest']


def test_readme_is_a_front_page_of_at_most_12_kB():
    size = (ROOT / "README.md").stat().st_size
    assert size <= README_LIMIT, f"README.md is {size:,} bytes, over {README_LIMIT:,}: move material to docs/"


def test_readme_first_screen_holds_exactly_the_two_setup_commands():
    """The first screen (up to the first section after "Set up") shows the two commands verbatim, in
    their own bash blocks, and no other command block."""
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = text.index("\n## Set up")
    first_screen = text[: text.index("\n## ", setup + 1)]
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", first_screen, re.M | re.S)
    assert [(lang, code.strip()) for lang, code in blocks] == [("bash", c) for c in SETUP_COMMANDS]


def test_readme_links_into_docs_resolve():
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]+)?\)", text)
    assert len(links) >= 7
    for link in links:
        assert (ROOT / link).is_file(), f"README links to {link}, which does not exist"


def test_cli_reference_is_generated_from_the_parser(apigen):
    """docs/api/cli.rst holds the --help of fastnn and of every command, so every option string of
    the parser is in it (nothing to keep in step by hand)."""
    import argparse

    from fastnn.cli import build_parser

    page = apigen._cli_page()
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert len(commands) >= 7
    for name, sub in commands.items():
        assert f"``fastnn {name}``" in page and f"usage: fastnn {name}" in page
        for action in sub._actions:
            for option in action.option_strings:
                assert option in page, f"fastnn {name} {option} is missing from the CLI reference"
