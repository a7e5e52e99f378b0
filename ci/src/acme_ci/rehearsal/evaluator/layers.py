"""Layers kept between rehearsals, as the Dagger engine's cache keeps them: a successful
exec's file system, tagged under its digest (same inputs, same argv: not run again)."""

from __future__ import annotations

import json
from pathlib import Path

from acme_ci.rehearsal.evaluator.file_systems import FileSystems
from acme_ci.rehearsal.evaluator.resources import Resources
from acme_ci.rehearsal.evaluator.values import ExecResult, Layer

LAYER_TAG = "localhost/acme-rehearsal/layer"


class KeptLayers:
    """Finds and keeps exec layers; `reuse=False` (--fresh) keeps them without finding any."""

    def __init__(
        self, directory: Path, resources: Resources, file_systems: FileSystems, reuse: bool
    ) -> None:
        self._directory = directory
        self._resources = resources
        self._file_systems = file_systems
        self._reuse = reuse
        self.reused = 0

    def _tag(self, digest: str) -> str:
        return f"{LAYER_TAG}:{digest[:40]}"

    def _record(self, digest: str) -> Path:
        """Where the exec's argv and output are kept: a reused layer replays them."""
        return self._directory / f"{digest}.json"

    async def find(self, digest: str) -> tuple[str, ExecResult] | None:
        """The kept image and exec result of `digest`, when both are still there."""
        record = self._record(digest)
        if not self._reuse or not record.is_file():
            return None
        done = await self._resources.podman(
            "image", "inspect", "--format", "{{.Id}}", self._tag(digest), check=False
        )
        if done.code != 0:
            return None
        data = json.loads(record.read_text())
        self.reused += 1
        return done.stdout.strip(), ExecResult(
            tuple(data["argv"]), 0, data["stdout"], data["stderr"]
        )

    async def keep(self, digest: str, layer: Layer, result: ExecResult) -> None:
        image = await self._file_systems.commit_layer(layer)
        await self._resources.podman("tag", image, self._tag(digest))
        record = self._record(digest)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(
            json.dumps(
                {"argv": list(result.argv), "stdout": result.stdout, "stderr": result.stderr}
            )
        )
