#!/usr/bin/env bash
# Build fastnn's compiled extensions with AddressSanitizer (setup.py honours FASTNN_ASAN=1) into a
# throw-away directory and run the core tests against that build.
#
#   bash tests/asan_check.sh                      # tests/test_core.py
#   bash tests/asan_check.sh tests/test_core.py tests/test_core_entry_points.py
#
# The sources are copied first (no build/ directory, .so or generated .c of a normal build can leak
# into the sanitized one, and the work tree is left untouched). Python itself is not sanitized, so
# libasan is preloaded; leak detection is off (CPython keeps its interned objects until exit).
# Exit status: 0 = every test passed and ASan reported nothing; 1 = an ASan report (printed);
# 2 = no libasan / build failed; otherwise pytest's. Result of the last run: tests/ASAN.md.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
libasan="$(gcc -print-file-name=libasan.so)"
if [ ! -e "$libasan" ]; then
    echo "asan_check: gcc has no libasan.so (got '$libasan'); install gcc's libasan" >&2
    exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/fastnn-asan.XXXXXX")"
trap 'rm -rf "$work"' EXIT

mkdir "$work/src"
cp -r "$repo/setup.py" "$repo/pyproject.toml" "$repo/README.md" "$repo/fastnn" "$repo/csrc" \
      "$repo/tests" "$work/src/"
find "$work/src" \( -name '*.so' -o -name '*.o' -o -name '__pycache__' \) -prune -exec rm -rf {} +
rm -f "$work/src"/fastnn/*.c "$work/src"/fastnn/*.cpp

echo "asan_check: building with FASTNN_ASAN=1 in $work/src" >&2
(cd "$work/src" && FASTNN_ASAN=1 "$python" setup.py -q build_ext --inplace >"$work/build.log" 2>&1) || {
    tail -n 40 "$work/build.log" >&2
    echo "asan_check: build failed" >&2
    exit 2
}
for so in "$work/src"/fastnn/_core*.so; do
    if ! nm -D "$so" 2>/dev/null | grep __asan_ >/dev/null; then
        echo "asan_check: $so is not instrumented" >&2
        exit 2
    fi
done

if [ "$#" -eq 0 ]; then
    set -- tests/test_core.py
fi
echo "asan_check: running pytest $* with LD_PRELOAD=$libasan" >&2
cd "$work/src"
# `python -m pytest` from the copy: the sanitized package in ./fastnn is imported, not an installed one.
# Reports go to files (pytest's output capture would swallow them when ASan aborts the process).
# FASTNN_ASAN=1 also tells the tests (the RSS-growth ones skip themselves: ASan's quarantine keeps
# freed memory).
status=0
FASTNN_ASAN=1 LD_PRELOAD="$libasan" \
    ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$work/asan-report:${ASAN_OPTIONS:-}" \
    "$python" -m pytest -q -p no:cacheprovider "$@" || status=$?
if compgen -G "$work/asan-report*" >/dev/null; then
    cat "$work"/asan-report* >&2
    echo "asan_check: AddressSanitizer reported errors (pytest exit status $status)" >&2
    exit 1
fi
if [ "$status" -eq 0 ]; then
    echo "asan_check: clean (no AddressSanitizer report, all tests passed)" >&2
fi
exit "$status"
