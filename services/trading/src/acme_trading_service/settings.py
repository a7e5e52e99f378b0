"""Settings read from the environment at the edge, passed as data everywhere else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

DEFAULT_PORT = 3001
DEFAULT_DATA_PATH = Path("var") / "trading" / "stocks.json"


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


def packaged_stocks_path() -> Path:
    """The stocks.json shipped inside the package (AAPL, MSFT, GOOGL, AMZN, TSLA)."""
    return Path(str(files("acme_trading_service") / "data" / "stocks.json"))


@dataclass(frozen=True)
class Settings:
    """What the app needs: the store file and, when the file may not exist yet, its seed.

    Swaps write the store, so the default is a working copy under `var/` seeded from the
    packaged stocks.json, never the packaged file itself.
    """

    data_path: Path
    seed_path: Path | None = None
    compact_after: int | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """`STOCKS_DATA_PATH`, or `var/trading/stocks.json` seeded from the packaged file."""
        raw = environ.get("STOCKS_DATA_PATH", "")
        if raw:
            return cls(data_path=Path(raw))
        return cls(data_path=DEFAULT_DATA_PATH, seed_path=packaged_stocks_path())


@dataclass(frozen=True)
class ServerSettings:
    """Where the console script listens: `HOST` (default 127.0.0.1) and `PORT` (3001)."""

    host: str
    port: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ServerSettings:
        """Read HOST and PORT; a PORT that is not a TCP port number is a SettingsError."""
        raw_port = environ.get("PORT", "") or str(DEFAULT_PORT)
        if not raw_port.isdigit() or int(raw_port) > 65535:
            raise SettingsError(f"PORT must be a number between 0 and 65535, got {raw_port!r}")
        return cls(host=environ.get("HOST", "") or "127.0.0.1", port=int(raw_port))
