"""A container step's cache key, and the entry format both shells store. Pure: no I/O.

The key of a step run in a container is a digest of its definition (argv, env, workdir,
task, outputs), of the environment it runs in (image references and the recipe of the
container) and of the content digests of its inputs as the engine sees them, each under its
root-relative path. Never a host path or a time: two runners with the same inputs compute
the same key, wherever the checkout lives.

An entry is the native cache's (acme_ci.native.cache, format 2): a gzipped tar of
`entry.json` ({"meta": the result, "checksum": ...}) and `outputs/` (the step's outputs
under their root-relative paths). The checksum covers the metadata and every output file, so
an entry written by either shell is checked the same way by the other. Native keys hash git
blob ids and the host's Python; container keys hash engine digests and images: the two
never coincide, so a native entry is used on Dagger only if the keys are equal, which they
are not by construction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from acme_ci.core.plan import Step

ENTRY_FORMAT = 2  # the native cache's ENTRY_FORMAT: entry.json + outputs/
ENTRY_FILE = "entry.json"
OUTPUTS_DIR = "outputs"


class HostPathError(ValueError):
    """A key input is not a root-relative path: a host path must never enter a key."""


def container_step_key(
    step: Step, input_digests: Mapping[str, str], environment: Mapping[str, str]
) -> str:
    """sha256 of the step definition, its environment and its inputs' content digests.

    `input_digests` maps each root-relative input path to the engine's digest of its
    content; `environment` names what the container is made of (image references, recipe).
    """
    for path in input_digests:
        if not path or PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts:
            raise HostPathError(f"key input {path!r}: expected a root-relative path")
    definition = {
        "format": ENTRY_FORMAT,
        "kind": "container",
        "id": step.id,
        "task": step.task,
        "commands": step.commands,
        "workdir": step.workdir,
        "env": step.env,
        "outputs": step.outputs,
        "environment": dict(environment),
    }
    h = hashlib.sha256(json.dumps(definition, sort_keys=True).encode())
    for path in sorted(input_digests):
        h.update(f"\n{path}\0{input_digests[path]}".encode())
    return h.hexdigest()


def entry_checksum(meta: Mapping[str, Any], files: Mapping[str, bytes]) -> str:
    """The checksum of an entry: its metadata, then each output file (path, sha256).

    `files` maps paths relative to `outputs/` to their bytes; the order is that of the
    native cache (pathlib's, part by part), so both shells agree on every entry.
    """
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for path in sorted(files, key=lambda p: PurePosixPath(p).parts):
        h.update(f"\n{path}\0".encode())
        h.update(hashlib.sha256(files[path]).digest())
    return h.hexdigest()


def entry_document(meta: Mapping[str, Any], files: Mapping[str, bytes]) -> dict[str, Any]:
    """The `entry.json` of an entry holding `meta` and the output `files`."""
    return {"meta": dict(meta), "checksum": entry_checksum(meta, files)}


def checksum_problem(document: Mapping[str, Any], files: Mapping[str, bytes]) -> str | None:
    """Why an unpacked entry must not be used (None: it may)."""
    meta = document.get("meta")
    if not isinstance(meta, dict):
        return "entry.json holds no metadata"
    if document.get("checksum") != entry_checksum(meta, files):
        return "checksum mismatch (damaged entry)"
    return None
