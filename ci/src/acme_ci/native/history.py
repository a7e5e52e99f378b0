"""Step durations from earlier runs, under .acme/durations.json: the scheduler's expectations.

Each run folds the durations of the steps it really ran (cache hits cost nothing and say
nothing) into a moving average per step id, so one slow run does not reorder everything.
The file is replaced atomically; when two runs race, the last one's view wins, which only
costs a slightly older expectation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from acme_ci.core.plan import Plan
from acme_ci.core.scheduler import RunResult
from acme_ci.native.atomic import replace_text
from acme_ci.native.git import listed_files

FILE_NAME = "durations.json"
# Weight of the newest measurement in the moving average.
WEIGHT = 0.5


def load_durations(state: Path) -> dict[str, float]:
    """Expected seconds per step id; empty when never recorded or unreadable."""
    try:
        data = json.loads((state / FILE_NAME).read_text(encoding="utf-8"))
        return {str(k): float(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def record_durations(state: Path, run: RunResult) -> None:
    """Fold the steps this run executed (passed or failed) into the stored averages; a run
    that executed none (all cached, or all blocked) leaves the file as it is."""
    executed = [r for r in run.results if r.status in ("passed", "failed")]
    if not executed:
        return
    durations = load_durations(state)
    for result in executed:
        old = durations.get(result.step_id)
        new = result.duration
        durations[result.step_id] = new if old is None else WEIGHT * new + (1 - WEIGHT) * old
    state.mkdir(parents=True, exist_ok=True)
    rounded = {k: round(v, 3) for k, v in sorted(durations.items())}
    replace_text(state / FILE_NAME, json.dumps(rounded, indent=1))


def biggest_packages_first(
    root: Path,
    plan: Plan,
    expected: Mapping[str, float],
    files: Sequence[str] | None = None,
) -> tuple[str, ...]:
    """The scheduler's prior for steps never run here (a fresh clone has no durations): the
    plan's steps, those whose package holds the most bytes of `files` first (by default
    git's tracked and unignored files; a caller that listed them passes its list). Size is
    all a first run knows, and the longest suite is usually the biggest package's;
    starting it last is what makes a first run slow. Empty when every step has a duration,
    or outside a repository without a list."""
    if all(step.id in expected for step in plan.steps):
        return ()
    # A package's directory is its lint and test steps' workdir; a build runs from the
    # root (workdir "."), which would otherwise count the whole repository as its size.
    package_dir: dict[str, str] = {}
    for step in plan.steps:
        if step.workdir not in ("", "."):
            package_dir[step.package] = step.workdir
        else:
            package_dir.setdefault(step.package, ".")
    if files is None:
        files = listed_files(root, sorted(set(package_dir.values())))
        if files is None:
            return ()
    sizes: dict[str, int] = {}
    for directory in set(package_dir.values()):
        prefix = "" if directory == "." else directory.rstrip("/") + "/"
        sizes[directory] = sum(_size(root / f) for f in files if f.startswith(prefix))
    ranked = sorted(plan.steps, key=lambda step: -sizes[package_dir[step.package]])
    return tuple(step.id for step in ranked)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
