"""Publish (native): versioned wheels of every package into an artifacts directory + manifest."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from acme_ci.core.workspace import Package, Workspace
from acme_ci.native import git

# PEP 440 public versions: what an index accepts as a release.
_VERSION = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")


class VersionError(Exception):
    """The release version is not a PEP 440 public version."""


class PublishError(Exception):
    """A wheel could not be built; the message carries uv's output."""


@dataclass(frozen=True)
class Artifact:
    name: str
    version: str
    file: str
    sha256: str


def check_version(version: str) -> str:
    if not _VERSION.match(version):
        raise VersionError(
            f"--version {version!r} is not a PEP 440 release version (e.g. 1.2.0, 1.3.0rc1)"
        )
    return version


def release_manifest(package: Package, text: str, version: str, internal: set[str]) -> str:
    """`text` with the project version set to `version` and internal deps pinned to it.

    Pinning keeps a release coherent: acme-user-service 1.2.0 installs acme-logger 1.2.0.
    """
    new = re.sub(r'(?m)^version\s*=\s*"[^"]*"', f'version = "{version}"', text, count=1)
    for dep in package.dependencies:
        if dep in internal:
            new = new.replace(f'"{dep}"', f'"{dep}=={version}"')
    project = tomllib.loads(new)["project"]
    if project.get("version") != version:
        raise PublishError(
            f"{package.name}: cannot set the version in {package.path}/pyproject.toml"
        )
    return new


def publish(
    root: Path, ws: Workspace, version: str, artifacts: Path, commit: str | None
) -> list[Artifact]:
    """Build one wheel per package at `version` into `artifacts`; write manifest.json there."""
    artifacts.mkdir(parents=True, exist_ok=True)
    internal = set(ws.names)
    built: list[Artifact] = []
    for package in ws.packages:
        with tempfile.TemporaryDirectory(prefix="acme-publish-") as tmp:
            staged = _stage(root, package, Path(tmp))
            manifest = staged / "pyproject.toml"
            manifest.write_text(
                release_manifest(package, manifest.read_text(encoding="utf-8"), version, internal),
                encoding="utf-8",
            )
            out = Path(tmp) / "out"
            done = subprocess.run(
                [
                    "uv",
                    "build",
                    "--wheel",
                    "--no-sources",
                    "--quiet",
                    "--out-dir",
                    str(out),
                    str(staged),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            wheels = sorted(out.glob("*.whl"))
            if done.returncode != 0 or len(wheels) != 1:
                raise PublishError(f"{package.name}: uv build failed:\n{done.stdout}{done.stderr}")
            target = artifacts / wheels[0].name
            shutil.copy2(wheels[0], target)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        built.append(Artifact(package.name, version, target.name, digest))
    data = {
        "version": version,
        "commit": commit,
        "artifacts": [a.__dict__ for a in built],
    }
    (artifacts / "manifest.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return built


def _stage(root: Path, package: Package, tmp: Path) -> Path:
    """Copy the package's files (git's view: no caches, no ignored files) into `tmp`."""
    staged = tmp / "src" / Path(package.path).name
    files = git.listed_files(root, [package.path])
    if files is None:
        shutil.copytree(
            root / package.path,
            staged,
            ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "dist", "build"),
        )
        return staged
    for name in files:
        source = root / name
        if source.is_file():
            target = staged / Path(name).relative_to(package.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return staged
