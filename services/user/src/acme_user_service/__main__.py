"""`user-service`: serve the app with uvicorn on HOST:PORT, logging as JSON lines."""

from __future__ import annotations

import sys

from acme_user_service.app import create_app
from acme_user_service.store import UserDataError
from acme_web.server import run_service

DEFAULT_PORT = 3000


def main() -> int:
    """Start the server; exit 2 with a one-line message on bad configuration or data."""
    return run_service("user-service", DEFAULT_PORT, create_app, (UserDataError,))


if __name__ == "__main__":
    sys.exit(main())
