"""The original exercise's users.json, unchanged: five users keyed `user1` .. `user5`.

`data/original_users.json` is a copy of the original file; every route is exercised on it.
"""

import json
from pathlib import Path

from litestar.testing import TestClient

from acme_user_service.app import create_app
from acme_user_service.settings import Settings, packaged_users_path

ORIGINAL = Path(__file__).parent / "data" / "original_users.json"
ORIGINAL_USERS = json.loads(ORIGINAL.read_text(encoding="utf-8"))


def test_every_route_serves_the_original_file() -> None:
    with TestClient(create_app(Settings(data_path=ORIGINAL))) as client:
        assert client.get("/").json() == {"message": "User Service API"}
        assert client.get("/users").json() == ORIGINAL_USERS
        for key, user in ORIGINAL_USERS.items():
            assert client.get(f"/users/{key}").json() == user
        missing = client.get("/users/1")
        assert (missing.status_code, missing.json()) == (404, {"error": "User not found"})
        assert client.get("/readiness").json() == {"status": "ready"}
        assert client.get("/liveness").json() == {"status": "alive"}


def test_packaged_users_are_the_original_five() -> None:
    packaged = json.loads(packaged_users_path().read_text(encoding="utf-8"))
    assert packaged == ORIGINAL_USERS
    assert list(packaged) == [f"user{n}" for n in range(1, 6)]
    assert all(user["id"] == key for key, user in packaged.items())
