"""Settings read from the environment at the edge, passed as data everywhere else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path


def packaged_users_path() -> Path:
    """The users.json shipped inside the package (the five original users)."""
    return Path(str(files("acme_user_service") / "data" / "users.json"))


@dataclass(frozen=True)
class Settings:
    """What the app needs: where the users live."""

    data_path: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """`USER_DATA_PATH`, or the packaged users.json."""
        raw = environ.get("USER_DATA_PATH", "")
        return cls(data_path=Path(raw) if raw else packaged_users_path())
