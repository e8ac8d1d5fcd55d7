"""Every option of every ``fastnn`` command is the one recorded in tests/fixtures/cli_options.json:
its spellings, dest, default, choices, nargs, type, metavar and help, its group, and each command's
help and description. A reorganisation of the command line (or flags generated from an options
spec) must keep them all; an intended change rewrites the fixture with
tests/fixtures/make_cli_options.py in the same commit, the reason in its message."""

import difflib
import importlib.util
import json
from pathlib import Path

import pytest

from fastnn import cli

FIXTURES = Path(__file__).parent / "fixtures"


def _maker():
    spec = importlib.util.spec_from_file_location("make_cli_options", FIXTURES / "make_cli_options.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RECORDED = json.loads((FIXTURES / "cli_options.json").read_text(encoding="utf-8"))
CURRENT = _maker().describe(cli.build_parser())


def _diff(recorded, current, name):
    before = json.dumps(recorded, indent=1).splitlines()
    after = json.dumps(current, indent=1).splitlines()
    return "\n".join(
        difflib.unified_diff(before, after, f"{name} (recorded)", f"{name} (now)", lineterm="", n=4)
    )


def test_the_commands_and_the_main_parser():
    keep = ("prog", "description", "epilog", "groups", "command_order")
    recorded = {k: RECORDED[k] for k in keep}
    current = {k: CURRENT[k] for k in keep}
    assert current == recorded, "\n" + _diff(recorded, current, "fastnn")


@pytest.mark.parametrize("command", RECORDED["command_order"])
def test_each_command_keeps_its_options(command):
    recorded = RECORDED["commands"][command]
    current = CURRENT["commands"].get(command)
    assert current is not None, f"the command {command!r} is gone"
    assert current == recorded, "\n" + _diff(recorded, current, f"fastnn {command}")


def test_the_fixture_covers_every_option():
    """The record is not vacuous: every command has its options, the flags of 'train' among them."""
    flags = {
        name: {s for g in c["groups"] for o in g["options"] for s in o["option_strings"]}
        for name, c in RECORDED["commands"].items()
    }
    assert set(RECORDED["command_order"]) == {
        "train",
        "tune",
        "evaluate",
        "predict",
        "export",
        "download",
        "reproduce",
    }
    assert {"--eta", "--lmbda", "--batch", "--threads", "--save", "--resume"} <= flags["train"]
    train_only = {
        "--eval",
        "--no-monitor-training",
        "--plot-penalty",
        "--checkpoint",
        "--resume",
        "--force-resume",
    }
    assert flags["train"] - train_only <= flags["tune"]  # tune takes train's options
    assert all(flags[name] for name in RECORDED["command_order"])
