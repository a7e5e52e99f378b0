"""Settings read from the environment at the edge, passed as data everywhere else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

DEFAULT_DATA_PATH = Path("var") / "trading" / "stocks.json"


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
