"""The parser of the command line: one-line errors with a did-you-mean hint, any-case choices,
'(default: X)' in the help, and the option tables (_opt rows) the commands add their options with."""

from __future__ import annotations

import argparse

from ._errors import EXIT_USAGE, CLIError


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line (``fastnn: error: ...``) instead of usage + exit."""

    command: str | None = None  # the sub-command named on the command line (set by main)

    def error(self, message):
        prog, options = self.prog, list(self._option_string_actions)
        sub = self._subparser(self.command)
        if sub is not None:  # argparse reports a sub-command's unknown options up here
            prog, options = sub.prog, list(sub._option_string_actions)
        raise CLIError(f"{message}{_did_you_mean(message, options)} (see '{prog} --help')", EXIT_USAGE)

    def _subparser(self, name):
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction) and name in action.choices:
                return action.choices[name]
        return None


def _did_you_mean(message, options):
    """'; did you mean --epochs?' for an unknown option or choice close to a known one."""
    import difflib
    import re

    m = re.match(r"unrecognized arguments: (.*)", message)
    if m:
        hints = []
        for word in m.group(1).split():
            if word.startswith("-"):
                close = difflib.get_close_matches(word.split("=")[0], options, n=1, cutoff=0.6)
                if close:
                    hints.append((close[0], word.split("=")[0]))
        if len(hints) == 1:
            return f"; did you mean {hints[0][0]}?"
        return ("; did you mean " + ", ".join(f"{c} for {w}" for c, w in hints) + "?") if hints else ""
    m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if m:
        choices = re.findall(r"'([^']*)'", m.group(2)) or [c.strip() for c in m.group(2).split(",")]
        close = difflib.get_close_matches(m.group(1).lower(), choices, n=1, cutoff=0.6)
        return f"; did you mean {close[0]}?" if close else ""
    return ""


def _case_insensitive(parser):
    """Every choice option of every (sub-)parser accepts any case (--hidden ReLU)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _case_insensitive(sub)
        elif action.choices and action.type is None and all(isinstance(c, str) for c in action.choices):
            canonical = {c.lower(): c for c in action.choices}
            action.type = lambda text, canonical=canonical: canonical.get(text.lower(), text)
    return parser


class _Formatter(argparse.HelpFormatter):
    """Shows '(default: X)' for options with a real default value, and not for flags."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            "default" in text
            or action.default in (None, False, True, argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return text + " (default: %(default)s)"


def _opt(flags, help=None, **keywords):
    """One row of an option table: the flags ("--name" or "--name --alias"), the help, and the
    rest of argparse's add_argument keywords."""
    return flags.split(), help, keywords


def _flag(flags, help):
    """An option table row for an on/off flag (store_true)."""
    return _opt(flags, help, action="store_true")


def _add_options(group, *rows):
    """Add the rows of an option table (see _opt) to a parser or an argument group."""
    for flags, help, keywords in rows:
        group.add_argument(*flags, help=help, **keywords)
    return group
