"""The command line's name, its exit statuses and the error a user mistake raises."""

from __future__ import annotations

PROG = "fastnn"

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CLIError(Exception):
    """A user mistake or an unusable input: reported as one line, no traceback."""

    def __init__(self, message, code=EXIT_FAILURE):
        super().__init__(message)
        self.code = code
