"""`trading-service`: serve the app with uvicorn on HOST:PORT, logging as JSON lines."""

from __future__ import annotations

import os
import sys

import uvicorn
from acme_logger import Logger, logging_config

from acme_trading_service.app import create_app
from acme_trading_service.settings import ServerSettings, Settings, SettingsError
from acme_trading_service.store import StockDataError


def main() -> int:
    """Start the server; exit 2 with a one-line message on bad configuration or data."""
    try:
        server = ServerSettings.from_env(os.environ)
        app = create_app(Settings.from_env(os.environ))
    except (SettingsError, StockDataError) as exc:
        print(f"trading-service: {exc}", file=sys.stderr)
        return 2
    Logger("trading-service").info(f"Trading service starting on port {server.port}")
    uvicorn.run(app, host=server.host, port=server.port, log_config=logging_config())
    return 0


if __name__ == "__main__":
    sys.exit(main())
