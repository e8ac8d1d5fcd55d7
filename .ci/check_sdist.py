"""Check an sdist against the allow-list: every file matches a pattern, every pattern matches a file.

    python .ci/check_sdist.py .ci/sdist-allowlist.txt dist/fastnn-0.2.0.tar.gz

Exit status 1, listing the offending files and stale patterns, when either fails."""

import re
import sys
import tarfile


def pattern_regex(pattern):
    """A glob as a regex: ``*`` within one folder, ``**/`` any number of folders (none included)."""
    out = []
    for part in re.split(r"(\*\*/|\*|\?)", pattern):
        if part == "**/":
            out.append(r"(?:[^/]+/)*")
        elif part == "*":
            out.append(r"[^/]*")
        elif part == "?":
            out.append(r"[^/]")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out) + r"\Z")


def main(allowlist, sdist):
    with open(allowlist, encoding="utf-8") as f:
        patterns = [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
    with tarfile.open(sdist) as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) != 1:
        print(f"{sdist}: expected one top folder, found {sorted(tops)}")
        return 1
    files = sorted(name.split("/", 1)[1] for name in names)
    regexes = {p: pattern_regex(p) for p in patterns}
    unexpected = [f for f in files if not any(r.match(f) for r in regexes.values())]
    stale = [p for p, r in regexes.items() if not any(r.match(f) for f in files)]
    for f in unexpected:
        print(f"{sdist}: {f} is not in the allow-list {allowlist}")
    for p in stale:
        print(f"{sdist}: no file matches the allow-list's {p!r} (remove the line, or ship the file)")
    if unexpected or stale:
        return 1
    print(f"{sdist}: {len(files)} files, all allowed; every one of the {len(patterns)} patterns used")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
