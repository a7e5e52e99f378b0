"""One rehearsal: the stand-ins, the evaluator installed in dagger-io, and the function
boundary every rehearsed call crosses (rehearsal/boundary.py)."""

from __future__ import annotations

import contextlib
import os
import sys
import typing
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import dagger
from dagger import DefaultPath, Ignore, dag

from acme_ci.dagger.main import AcmeCi
from acme_ci.rehearsal.boundary import FunctionBoundary
from acme_ci.rehearsal.evaluator import Evaluator
from acme_ci.rehearsal.standins import StandIns


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def state_dir() -> Path:
    """Kept between rehearsals and clones: which exec layers are already built."""
    base = os.environ.get("XDG_CACHE_HOME") or ("/var/cache" if os.geteuid() == 0 else "~/.cache")
    return Path(base).expanduser() / "acme-rehearsal"


def source_settings() -> tuple[str, list[str]]:
    """The module's `source` field: its DefaultPath and Ignore patterns, as declared."""
    hint = typing.get_type_hints(AcmeCi, include_extras=True)["source"]
    default, patterns = "/", []
    for meta in getattr(hint, "__metadata__", ()):
        if isinstance(meta, DefaultPath):
            default = meta.from_context
        elif isinstance(meta, Ignore):
            patterns = list(meta.patterns)
    return default, patterns


def context_root(start: Path) -> Path:
    """The module's context directory: the git repository holding dagger.json."""
    for directory in (start, *start.parents):
        if (directory / "dagger.json").is_file() and (directory / ".git").exists():
            return directory
    for directory in (start, *start.parents):
        if (directory / "dagger.json").is_file():
            return directory
    raise FileNotFoundError(f"no dagger.json in {start} or above")


@dataclass
class Rehearsal:
    evaluator: Evaluator
    images: StandIns
    root: Path
    boundary: FunctionBoundary

    def source(self) -> dagger.Directory:
        """The module's context as `dagger call` loads it, for the rehearsal's own reads
        (which services the workspace has); rehearsed calls cross the boundary instead."""
        default, patterns = source_settings()
        return dag.host().directory(str(self.root / default.strip("/")), exclude=patterns)


@contextlib.asynccontextmanager
async def rehearsal(root: Path, fresh: bool = False) -> AsyncIterator[Rehearsal]:
    images = StandIns(say)
    evaluator = Evaluator(images, say, state_dir(), reuse_layers=not fresh)
    async with evaluator.running():
        await images.prepare()
        yield Rehearsal(evaluator, images, root, FunctionBoundary(evaluator, root))
