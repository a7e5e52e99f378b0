"""Loading the user store: a JSON object of users keyed by id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

User = dict[str, Any]


class UserDataError(Exception):
    """The user data file is missing, unreadable or not a JSON object of user objects."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"cannot load user data from {path}: {reason}. "
            "Point USER_DATA_PATH at a JSON object of users keyed by id."
        )
        self.path = path


def load_users(path: Path) -> dict[str, User]:
    """Read and check the store; every failure is a UserDataError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserDataError(path, "the file does not exist") from None
    except OSError as exc:
        raise UserDataError(path, exc.strerror or str(exc)) from None
    try:
        users = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserDataError(path, f"invalid JSON ({exc})") from None
    if not isinstance(users, dict):
        raise UserDataError(path, f"expected a JSON object, found {type(users).__name__}")
    for key, user in users.items():
        if not isinstance(user, dict):
            raise UserDataError(path, f"user {key!r} is not a JSON object")
    return users
