"""Fail when requirements.lock no longer satisfies the ranges in pyproject.toml.

`make install` installs exactly the lock; this catches a dependency added to (or a range moved in)
pyproject.toml without `make lock`, which would otherwise install a tree that ignores the change.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
# The extras `make lock` compiles (its --extra flags). Others, such as `load` (benchmarks/load),
# are installed by hand with `pip install -e '.[load]'` and are not in the lock.
LOCKED_EXTRAS = ("test", "lint")


def locked_versions(lock_text: str) -> dict[str, set[str]]:
    pins: dict[str, set[str]] = {}
    for line in lock_text.splitlines():
        match = PIN.match(line)
        if match:
            pins.setdefault(canonicalize_name(match[1]), set()).add(match[2])
    return pins


def unsatisfied(project: dict, pins: dict[str, set[str]]) -> list[str]:
    wanted = list(project.get("dependencies", []))
    for name, group in project.get("optional-dependencies", {}).items():
        if name in LOCKED_EXTRAS:
            wanted.extend(group)
    problems = []
    for text in wanted:
        req = Requirement(text)
        versions = pins.get(canonicalize_name(req.name), set())
        if not versions:
            problems.append(f"{text}: not in the lock")
        elif not any(req.specifier.contains(v, prereleases=True) for v in versions):
            problems.append(f"{text}: the lock pins {', '.join(sorted(versions))}")
    return problems


def main() -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = locked_versions((ROOT / "requirements.lock").read_text())
    problems = unsatisfied(project, pins)
    if problems:
        print("requirements.lock is out of date with pyproject.toml:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print("Run `make lock` and commit requirements.lock.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
