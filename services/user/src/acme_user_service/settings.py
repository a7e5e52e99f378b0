"""Settings read from the environment at the edge, passed as data everywhere else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

DEFAULT_PORT = 3000


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


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


@dataclass(frozen=True)
class ServerSettings:
    """Where the console script listens: `HOST` (default 127.0.0.1) and `PORT` (3000)."""

    host: str
    port: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ServerSettings:
        """Read HOST and PORT; a PORT that is not a TCP port number is a SettingsError."""
        raw_port = environ.get("PORT", "") or str(DEFAULT_PORT)
        if not raw_port.isdigit() or int(raw_port) > 65535:
            raise SettingsError(f"PORT must be a number between 0 and 65535, got {raw_port!r}")
        return cls(host=environ.get("HOST", "") or "127.0.0.1", port=int(raw_port))
