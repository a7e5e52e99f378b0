"""What the verbs share: finding the workspace, usage errors, closing a run."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from acme_ci.core.affected import SelectionError
from acme_ci.core.plan import Plan
from acme_ci.core.report import report_data, report_markdown
from acme_ci.core.scheduler import RunResult
from acme_ci.core.summary import summary_text
from acme_ci.core.workspace import Workspace, WorkspaceError
from acme_ci.native import git
from acme_ci.native.console import Progress
from acme_ci.native.discover import find_root, load_workspace
from acme_ci.native.git import GitError
from acme_ci.native.runner import SelectionRequest, run_native
from acme_ci.native.runner_choice import RunnerUnavailableError

if TYPE_CHECKING:  # the remote cache's module loads only when a cache URL is set
    from acme_ci.native.remote_cache import RemoteSettings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class RemoteFlagsError(Exception):
    """A remote cache flag or variable the run cannot use (its module loads only when a
    cache URL is set, so its own error class is not named here)."""


# Failures the user fixes by changing the command or the repository: exit 2, never a traceback.
USAGE_ERRORS = (
    WorkspaceError,
    SelectionError,
    GitError,
    RunnerUnavailableError,
    RemoteFlagsError,
)


def load(args: argparse.Namespace) -> tuple[Path, Workspace]:
    root = find_root(Path(args.directory))
    return root, load_workspace(root)


def request_from(args: argparse.Namespace) -> SelectionRequest:
    return SelectionRequest(base=args.base, all=args.all, packages=tuple(args.package))


def remote_settings(args: argparse.Namespace, root: Path) -> RemoteSettings | None:
    """The remote cache the flags and the environment ask for (None: none)."""
    env = os.environ
    url = args.cache_url or env.get("ACME_CACHE_URL")
    if not url:
        return None
    from acme_ci.core.remote_cache import RemoteCacheError
    from acme_ci.native.remote_cache import settings_from

    event: dict[str, object] | None = None
    if env.get("GITHUB_EVENT_PATH"):
        try:
            event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            event = None
    try:
        settings = settings_from(
            env,
            url=url,
            scope=args.cache_scope,
            default_scope=args.cache_default_scope,
            read_only=args.cache_read_only,
            branch=git.current_branch(root) if not args.cache_scope else None,
            event=event,
        )
        if settings is not None:
            settings.policy()  # a scope the trust rules refuse is refused before any step
    except RemoteCacheError as error:
        raise RemoteFlagsError(str(error)) from error
    return settings


def usage_error(error: Exception) -> int:
    print(f"acme-ci: error: {error}", file=sys.stderr)
    return EXIT_USAGE


def finish(run: RunResult, report: str | None, title: str) -> int:
    """Print the summary, write the JSON report and GitHub's step summary; the exit code."""
    print(summary_text(run), flush=True)
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(report_data(run), indent=2) + "\n", encoding="utf-8")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as stream:
            stream.write(report_markdown(run, title))
    return EXIT_OK if run.ok else EXIT_FAILED


def run_with_flags(
    root: Path, plan: Plan, args: argparse.Namespace, remote: RemoteSettings | None
) -> RunResult:
    """Run `plan` natively as the shared run flags say (jobs, cache, schedule), with progress."""
    return run_native(
        root,
        plan,
        jobs=args.jobs,
        use_cache=not args.no_cache,
        on_event=Progress(),
        remote=remote,
        longest_chain_first=args.schedule == "longest-chain",
    )
