"""The step cache's entry format, as both shells write and read it. Pure: no I/O.

An entry (format 2) is a directory, packed as a gzipped tar for the remote cache, holding
`entry.json` ({"meta": the step's result, "checksum": ...}) and `outputs/` (the step's
outputs under their root-relative paths). The checksum covers the metadata and every output
file, so an entry written by either shell is checked the same way by the other, and a
damaged one is refused. acme_ci.entries moves the bytes; this module says what they mean.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import Any

from acme_ci.core.plan import Step
from acme_ci.core.scheduler import Flake, StepResult

# Hashed into every step key (acme_ci.core.step_key, acme_ci.native.cache): a new format
# turns every stored entry into a miss, never into a wrong read.
ENTRY_FORMAT = 2
ENTRY_FILE = "entry.json"
OUTPUTS_DIR = "outputs"


@dataclass(frozen=True)
class CachedResult:
    """What a hit replays: the original run's duration, output tail and flakes."""

    step_id: str
    duration: float
    output: str
    attempts: int
    flakes: tuple[tuple[str, int], ...]
    passed_tests: int = 0
    skipped_tests: int = 0

    @classmethod
    def of(cls, result: StepResult) -> CachedResult:
        """What an entry keeps of a passed step's result."""
        return cls(
            step_id=result.step_id,
            duration=result.duration,
            output=result.output,
            attempts=result.attempts,
            flakes=tuple((flake.test_id, flake.attempts) for flake in result.flakes),
            passed_tests=result.passed_tests,
            skipped_tests=result.skipped_tests,
        )

    def replayed(self, step: Step, key: str, source: str, moved: int) -> StepResult:
        """`step`'s result served from this entry (`source`: local or remote, `moved`: the
        bytes fetched for it)."""
        return StepResult(
            step.id,
            "cached",
            duration=self.duration,
            output=self.output,
            attempts=self.attempts,
            flakes=tuple(Flake(test, step.package, attempts) for test, attempts in self.flakes),
            passed_tests=self.passed_tests,
            skipped_tests=self.skipped_tests,
            cache_key=key,
            cache_source=source,
            cache_bytes=moved,
        )

    def meta(self) -> dict[str, Any]:
        """The entry's metadata (`meta` in entry.json)."""
        return asdict(self)

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> CachedResult:
        """The result an entry's metadata holds (entries stored before the test counts
        existed have none: 0). Raises KeyError, TypeError or ValueError when it holds none."""
        return cls(
            step_id=str(meta["step_id"]),
            duration=float(meta["duration"]),
            output=str(meta["output"]),
            attempts=int(meta["attempts"]),
            flakes=tuple((str(test), int(attempts)) for test, attempts in meta["flakes"]),
            passed_tests=int(meta.get("passed_tests", 0)),
            skipped_tests=int(meta.get("skipped_tests", 0)),
        )


def entry_checksum(meta: Mapping[str, Any], files: Mapping[str, bytes]) -> str:
    """The checksum of an entry: its metadata, then each output file (path, sha256).

    `files` maps paths relative to `outputs/` to their bytes, taken in pathlib's order (part
    by part: 'a/x' before 'a-b/x'), the order format 2 was first written in.
    """
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for path in sorted(files, key=lambda p: PurePosixPath(p).parts):
        h.update(f"\n{path}\0".encode())
        h.update(hashlib.sha256(files[path]).digest())
    return h.hexdigest()


def entry_document(meta: Mapping[str, Any], files: Mapping[str, bytes]) -> dict[str, Any]:
    """The `entry.json` of an entry holding `meta` and the output `files`."""
    return {"meta": dict(meta), "checksum": entry_checksum(meta, files)}


def checksum_problem(document: object, files: Mapping[str, bytes]) -> str | None:
    """Why an entry whose `entry.json` holds `document` must not be used (None: it may)."""
    if not isinstance(document, dict) or not isinstance(document.get("meta"), dict):
        return "entry.json holds no metadata"
    if document.get("checksum") != entry_checksum(document["meta"], files):
        return "checksum mismatch (damaged entry)"
    return None


def archive_member_problem(name: str, plain: bool) -> str | None:
    """Why a packed entry's member must not be extracted, or None when it is safe.

    The rule tarfile's "data" filter applies, for Pythons before 3.11.4 that lack it: only
    plain files and directories, under relative names that do not escape the target.
    """
    parts = name.split("/")
    if name.startswith("/") or ".." in parts:
        return f"refused archive member {name!r}: its name leaves the entry"
    if not plain:
        return f"refused archive member {name!r}: not a plain file or directory"
    return None
