"""The argument types of the options: text to a checked value, or argparse's one-line error."""

from __future__ import annotations

import argparse
import os

from fastnn._vocabulary import HYPER, Interval, check_hyper, cost_name, problem


def _sizes(text):
    # "784,30,10", "784, 30, 10" or "784 30 10"; an empty field ("64,,10", "64,10,") is an error
    parts = [p.strip() for p in text.split(",")] if "," in text else text.split()
    if "" in parts:
        raise argparse.ArgumentTypeError(
            f"empty layer size in {text!r} (two commas in a row, or one at an end?); "
            f"expected comma-separated positive integers such as 784,30,10"
        )
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        sizes = None
    if not sizes or len(sizes) < 2 or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(
            f"expected at least two comma-separated positive integers such as 784,30,10, got {text!r}"
        )
    return sizes


def _cost(text):
    try:
        return cost_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(problem(exc)) from None


def _number(interval):
    """An argparse type: the text as a number in `interval` (an Interval, or a key of HYPER)."""
    name = interval if isinstance(interval, str) else "value"
    interval = HYPER[interval] if isinstance(interval, str) else interval

    def parse(text):
        try:
            value = (int if interval.integer else float)(text)
        except ValueError:
            what = "an integer" if interval.integer else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        try:
            return check_hyper(name, value, interval)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(problem(exc)) from None

    parse.__name__ = "int" if interval.integer else "float"
    return parse


def _space_item(text):
    """NAME=LOW:HIGH[:log] or NAME=a,b,c -> (name, (low, high[, "log"]) or [choices])."""
    name, sep, spec = text.partition("=")
    if not sep or not name.strip() or not spec.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=LOW:HIGH[:log] or NAME=a,b,c, got {text!r}")

    def value(v):
        for kind in (int, float):
            try:
                return kind(v)
            except ValueError:
                pass
        return v

    if ":" in spec:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
            raise argparse.ArgumentTypeError(f"expected NAME=LOW:HIGH or NAME=LOW:HIGH:log, got {text!r}")
        low, high = value(parts[0]), value(parts[1])
        if isinstance(low, str) or isinstance(high, str):
            raise argparse.ArgumentTypeError(f"expected numbers in {text!r}")
        return name.strip(), (low, high, *parts[2:])
    return name.strip(), [value(v.strip()) for v in spec.split(",") if v.strip()]


# generic argument types for flags not in HYPER (kept under their old names for other commands)
_pos_int = _number(Interval(1, integer=True))
_nonneg_int = _number(Interval(0, integer=True))
_pos_float = _number(Interval(0.0, low_open=True))
_nonneg_float = _number(Interval(0.0))
_unit_float = _number(Interval(0.0, 1.0, high_open=True))
_ratio = _number(Interval(0.0, 1.0, low_open=True, high_open=True))


def _data_arg(text):
    """--data: 'mnist' or 'digits' (any case), or the path of a .npz/CSV file of one's own."""
    if text.lower() in ("mnist", "digits"):
        return text.lower()
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(
            f"expected mnist, digits or an existing .npz/CSV file, got {text!r} (no such file)"
        )
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is a directory; for MNIST files in a directory use --data-dir"
        )
    return text


def _is_file_data(choice):
    return choice is not None and choice not in ("mnist", "digits")
