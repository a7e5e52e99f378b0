"""A container step's cache key. Pure: no I/O.

The key of a step run in a container is a digest of its definition (argv, env, workdir,
task, outputs), of the environment it runs in (image references and the recipe of the
container) and of the content digests of its inputs as the engine sees them, each under its
root-relative path. Never a host path or a time: two runners with the same inputs compute
the same key, wherever the checkout lives.

The entry stored under a key is the same in both shells (acme_ci.core.entry_format). Native
keys hash git blob ids and the host's Python; container keys hash engine digests and images:
the two never coincide, so an entry is shared between the shells only through equal keys,
which they are not by construction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import PurePosixPath

from acme_ci.core import entry_format
from acme_ci.core.plan import Step


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
        "format": entry_format.ENTRY_FORMAT,
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
