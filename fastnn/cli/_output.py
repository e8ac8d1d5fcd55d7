"""Output helpers of the commands: notes, counts and percentages, and the output files checked
before any work."""

from __future__ import annotations

import sys

from ._errors import EXIT_USAGE, PROG, CLIError


def _note(args, message, stream=None):
    """An informational line (stdout by default: train/evaluate print a report there)."""
    if not getattr(args, "quiet", False):
        print(f"{PROG}: {message}", file=stream or _report_stream(args), flush=True)


def _report_stream(args):
    """Where train's report (notes, epoch lines, the test line) goes: stdout, or stderr when
    --save/--json/--plot write to stdout (so that '--json - | jq .' gets pure JSON)."""
    return sys.stderr if getattr(args, "outputs_to_stdout", False) else sys.stdout


def _fmt_count(n):
    return f"{n:,}"


def _pct(count, n):
    return 100.0 * count / n if n else float("nan")


def _check_outputs(args):
    """--save/--json/--plot/--checkpoint checked before any data is loaded: each writable
    (fastnn.io's rules), no two of them the same file (whatever the spelling), --checkpoint a
    regular file; notes whether one of them is stdout."""
    from fastnn import io as fio

    seen = {}
    try:
        stdout_id = fio.output_identity("-")
    except OSError:
        stdout_id = None
    args.outputs_to_stdout = False
    for flag in ("--save", "--json", "--plot", "--checkpoint"):
        path = getattr(args, flag[2:], None)
        if path is None:
            continue
        try:
            key = fio.output_identity(path)
            kind = fio.output_target(path)[0]
        except OSError as e:
            raise CLIError(f"{flag} {path}: {_os_reason(e, path)}") from None
        if flag == "--checkpoint" and kind != "file":
            raise CLIError(
                f"--checkpoint {path}: not a regular file; a checkpoint is rewritten after every "
                f"epoch and read back by --resume, so it must be a file (not stdout, a descriptor, "
                f"a device or a FIFO)",
                EXIT_USAGE,
            )
        if key in seen:
            other, other_path = seen[key]
            raise CLIError(
                f"{other} {other_path} and {flag} {path} are the same file; give them different files",
                EXIT_USAGE,
            )
        seen[key] = (flag, path)
        if key == stdout_id or fio.descriptor_of(path) == 1:
            args.outputs_to_stdout = True


def _check_output_path(flag, path):
    """One output checked before any work (fastnn.io's rules: writable, not a directory, ...)."""
    if path is None:
        return
    from fastnn import io as fio

    try:
        fio.output_target(path)
    except OSError as e:
        raise CLIError(f"{flag} {path}: {_os_reason(e, path)}") from None


def _os_reason(e, path):
    """An OSError's message without a repeated path."""
    text = e.strerror if isinstance(e.strerror, str) else str(e)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text
