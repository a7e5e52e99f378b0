"""The plan: lint, test and build steps per selected package, as a DAG of plain data.

The argv is host-neutral (no absolute paths) so the native runner and the Dagger module run
the very same commands: the tools are found on PATH (the workspace venv's bin/ natively, the
container's environment on Dagger).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from acme_ci.core.affected import Selection
from acme_ci.core.workspace import Package, Workspace

TASKS = ("lint", "test", "build")
LOCK_FILE = "uv.lock"
ROOT_MANIFEST = "pyproject.toml"


@dataclass(frozen=True)
class PlanOptions:
    """Where steps put what they produce, relative to the workspace root."""

    report_dir: str = ".acme/reports"
    dist_dir: str = "dist"
    tasks: tuple[str, ...] = TASKS


@dataclass(frozen=True)
class Step:
    """One command list to run for one package; `needs` are step ids.

    `reads_needs` False means the step reads none of its needs' outputs (a build reads only
    sources; its needs are gates): the scheduler may start it early in a worker that would
    otherwise wait, and its result counts only once every need has passed.

    `part_of` names the step this one is a part of: a group of a long test suite's files
    (acme_ci.core.test_groups) is part of the package's test step, whose verdict merges
    its groups'. None for a whole step.
    """

    id: str
    package: str
    task: str
    commands: tuple[tuple[str, ...], ...]
    workdir: str
    env: tuple[tuple[str, str], ...]
    inputs: tuple[str, ...]
    needs: tuple[str, ...]
    outputs: tuple[str, ...]
    reason: str
    reads_needs: bool = True
    part_of: str | None = None

    @property
    def junit_path(self) -> str | None:
        """The root-relative JUnit XML report a test step writes."""
        return next((o for o in self.outputs if o.endswith(".xml")), None)


@dataclass(frozen=True)
class Plan:
    """Steps in topological order, plus the selection that produced them."""

    steps: tuple[Step, ...]
    selection: Selection = field(default_factory=Selection)

    def get(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"no step {step_id!r} in the plan")

    def dependents(self, step_id: str) -> tuple[str, ...]:
        """Steps that need `step_id`, directly or transitively."""
        found: list[str] = []
        frontier = {step_id}
        for step in self.steps:  # topological order: one pass suffices
            if frontier.intersection(step.needs):
                found.append(step.id)
                frontier.add(step.id)
        return tuple(found)

    def critical_path(self, durations: Mapping[str, float]) -> tuple[tuple[str, ...], float]:
        """The longest chain of needs weighted by `durations` (missing = 0 s), and its length.

        With unlimited workers a run cannot finish faster than this: it is the lower bound.
        A step that does not read its needs runs alongside them and ends with the later.
        """
        best: dict[str, tuple[float, tuple[str, ...]]] = {}
        for step in self.steps:
            before = max((best[n] for n in step.needs), default=(0.0, ()))
            own = durations.get(step.id, 0.0)
            if step.reads_needs:
                best[step.id] = (before[0] + own, (*before[1], step.id))
            elif own > before[0]:
                best[step.id] = (own, (step.id,))
            else:
                best[step.id] = (before[0], (*before[1], step.id))
        if not best:
            return (), 0.0
        total, path = max(best.values(), key=lambda item: item[0])
        return path, total

    def remaining_chains(self, durations: Mapping[str, float]) -> dict[str, float]:
        """Per step: its own duration plus the longest chain of its dependents (missing = 0 s).

        The scheduler starts the ready step with the longest remaining chain first.
        """
        users: dict[str, list[str]] = {step.id: [] for step in self.steps}
        for step in self.steps:
            for need in step.needs:
                users.setdefault(need, []).append(step.id)
        chains: dict[str, float] = {}
        for step in reversed(self.steps):  # dependents come later in topological order
            after = max((chains[u] for u in users[step.id]), default=0.0)
            chains[step.id] = durations.get(step.id, 0.0) + after
        return chains


def make_plan(ws: Workspace, selection: Selection, options: PlanOptions | None = None) -> Plan:
    """Steps for every selected package; a build needs its own lint and test, and the tests
    of its internal dependencies that are in the plan (never ship on a broken dependency).
    Those needs are gates, not inputs: the build reads only sources, so it may run early."""
    options = options or PlanOptions()
    selected = [ws.get(name) for name in selection.packages]
    selected_names = {p.name for p in selected}
    steps: list[Step] = []
    for package in _topological(ws, selected):
        reason = "; ".join(selection.reasons[package.name])
        inputs = (
            LOCK_FILE,
            ROOT_MANIFEST,
            package.path,
            *(ws.get(d).path for d in ws.dependencies_closure(package.name)),
        )
        made: dict[str, Step] = {}
        if "lint" in options.tasks:
            made["lint"] = _lint(package, inputs, reason)
        if "test" in options.tasks:
            made["test"] = _test(package, inputs, reason, options)
        if "build" in options.tasks:
            dep_tests = tuple(
                f"{d}:test"
                for d in ws.dependencies_closure(package.name)
                if d in selected_names and "test" in options.tasks
            )
            own = tuple(made[t].id for t in ("lint", "test") if t in made)
            made["build"] = _build(
                package, _build_inputs(ws, package), reason, options, (*own, *dep_tests)
            )
        steps.extend(made.values())
    return Plan(tuple(steps), selection)


def _topological(ws: Workspace, packages: list[Package]) -> list[Package]:
    """Dependencies before dependents, ties by name, so the plan order is stable.

    A dependency's closure is a strict subset of its dependent's, hence smaller.
    """
    return sorted(packages, key=lambda p: (len(ws.dependencies_closure(p.name)), p.name))


def _lint(package: Package, inputs: tuple[str, ...], reason: str) -> Step:
    workflows = package.settings.workflows
    return Step(
        id=f"{package.name}:lint",
        package=package.name,
        task="lint",
        # Static checks: style, formatting, types (strict, from the root mypy config) and,
        # where the package declares them, its import-linter architecture contract,
        # pyright (acme-ci: the Dagger module, as the SDK's own users type-check it) and
        # zizmor over the GitHub workflows: offline (no GitHub API, so every runner reaches
        # the same verdict) and with no config file, which would lie outside the step's
        # inputs (a false positive is ignored in the workflow: `# zizmor: ignore[<audit>]`).
        commands=(
            ("ruff", "check", "."),
            ("ruff", "format", "--check", "."),
            ("mypy", "src", "tests"),
            *((("lint-imports", "--no-cache"),) if package.settings.import_contracts else ()),
            *((("pyright",),) if package.settings.pyright else ()),
            *(
                (("zizmor", "--offline", "--no-config", _from(package.path, workflows)),)
                if workflows
                else ()
            ),
        ),
        workdir=package.path,
        env=(),
        inputs=(*inputs, workflows) if workflows else inputs,
        needs=(),
        outputs=(),
        reason=reason,
    )


def _test(package: Package, inputs: tuple[str, ...], reason: str, options: PlanOptions) -> Step:
    junit = f"{options.report_dir}/{package.name}/junit.xml"
    argv: list[str] = ["python", "-m", "pytest", f"--junitxml={_from(package.path, junit)}", "-rsR"]
    # 0 means "the package's own pytest config decides": passing 0 would forbid every rerun.
    if package.settings.max_suite_reruns:
        argv.append(f"--max-suite-reruns={package.settings.max_suite_reruns}")
    return Step(
        id=f"{package.name}:test",
        package=package.name,
        task="test",
        commands=(tuple(argv),),
        workdir=package.path,
        env=(("PYTHONDONTWRITEBYTECODE", "1"),),
        inputs=inputs,
        needs=(),
        outputs=(junit,),
        reason=reason,
    )


def _build(
    package: Package,
    inputs: tuple[str, ...],
    reason: str,
    options: PlanOptions,
    needs: tuple[str, ...],
) -> Step:
    out_dir = f"{options.dist_dir}/{package.name}"
    return Step(
        id=f"{package.name}:build",
        package=package.name,
        task="build",
        commands=(("uv", "build", "--package", package.name, "--out-dir", out_dir, "--quiet"),),
        workdir=".",
        env=(),
        inputs=inputs,
        needs=needs,
        outputs=(out_dir,),
        reason=reason,
        reads_needs=False,
    )


def _build_inputs(ws: Workspace, package: Package) -> tuple[str, ...]:
    """A build packs the package's own tree; uv reads the other members only for their
    manifests (the workspace). So a change to a dependency's code re-runs the dependent's
    lint and test (they import it), never its build."""
    others = (_manifest(p.path) for p in ws.packages if p.path != package.path)
    return tuple(dict.fromkeys((LOCK_FILE, ROOT_MANIFEST, package.path, *others)))


def _manifest(member_path: str) -> str:
    """A member's pyproject.toml, relative to the root."""
    return ROOT_MANIFEST if member_path in ("", ".") else f"{member_path}/{ROOT_MANIFEST}"


def _from(workdir: str, root_relative: str) -> str:
    """`root_relative` as seen from `workdir` (both relative to the root)."""
    depth = len(PurePosixPath(workdir).parts) if workdir not in ("", ".") else 0
    return "/".join([".."] * depth + [root_relative])
