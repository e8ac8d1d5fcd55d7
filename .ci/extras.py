"""Print the requirements of pyproject.toml's optional-dependency groups (extras), one per line, with
fastnn's own extras expanded: what `pip install ".[NAME,...]"` would add, without installing fastnn.

    python .ci/extras.py all bench lint docs      # the extras' requirements
    python .ci/extras.py --dependencies test      # fastnn's run-time dependencies, then the extras'
"""

import re
import sys
from pathlib import Path

import tomllib

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def requirements(names, dependencies=False):
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    out = list(project["dependencies"]) if dependencies else []
    todo, seen = list(names), set()
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        if name not in extras:
            raise SystemExit(f"pyproject.toml has no extra {name!r} (it has {sorted(extras)})")
        seen.add(name)
        for req in extras[name]:
            own = re.fullmatch(r"fastnn\[([^\]]+)\]", req.replace(" ", ""))
            if own:
                todo.extend(own.group(1).split(","))
            elif req not in out:
                out.append(req)
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    deps = "--dependencies" in args
    print("\n".join(requirements([a for a in args if a != "--dependencies"], dependencies=deps)))
