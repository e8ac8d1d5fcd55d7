#!/usr/bin/env bash
# ThreadSanitizer on the thread team of one training (csrc/team.c): builds tests/tsan_team.c with
# -fsanitize=thread and runs it (barrier, stop, every team size 1..5). Exit 0 = no report.
# (The compiled core itself runs inside an uninstrumented CPython, where TSan cannot see the
# interpreter's own synchronisation: its threaded tests run under AddressSanitizer instead,
# tests/asan_check.sh tests/test_threads_team.py.)
set -euo pipefail
# no preloaded libasan (tests/asan_check.sh runs the suite with one; TSan cannot share a process
# with it, and gcc need not run under it)
unset LD_PRELOAD
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/fastnn-tsan.XXXXXX")"
trap 'rm -rf "$work"' EXIT
gcc -O1 -g -fsanitize=thread -I"$repo/csrc" "$repo/tests/tsan_team.c" "$repo/csrc/team.c" \
    -o "$work/tsan_team" -lpthread
TSAN_OPTIONS="halt_on_error=1" "$work/tsan_team"
