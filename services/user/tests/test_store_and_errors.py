import json
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from acme_user_service.app import create_app
from acme_user_service.settings import Settings
from acme_user_service.store import UserDataError


def test_users_come_from_the_configured_file(tmp_path: Path) -> None:
    data = tmp_path / "users.json"
    data.write_text(json.dumps({"a1": {"id": "a1", "name": "Ada"}}), encoding="utf-8")
    with TestClient(create_app(Settings(data_path=data))) as client:
        assert client.get("/users").json() == {"a1": {"id": "a1", "name": "Ada"}}
        assert client.get("/users/a1").json()["name"] == "Ada"


def test_user_data_path_is_read_from_the_environment(tmp_path: Path) -> None:
    assert Settings.from_env({"USER_DATA_PATH": str(tmp_path / "u.json")}).data_path == (
        tmp_path / "u.json"
    )
    assert Settings.from_env({}).data_path.name == "users.json"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("[1, 2]", "expected a JSON object, found list"),
        ('{"1": "John"}', "user '1' is not a JSON object"),
        ("", "invalid JSON"),
    ],
)
def test_unusable_data_file_fails_at_startup_naming_the_file(
    tmp_path: Path, content: str, reason: str
) -> None:
    data = tmp_path / "users.json"
    data.write_text(content, encoding="utf-8")
    with pytest.raises(UserDataError, match=reason) as raised:
        create_app(Settings(data_path=data))
    assert str(data) in str(raised.value)


def test_unknown_route_and_method_answer_json_errors() -> None:
    app: Litestar = create_app(Settings.from_env({}))
    with TestClient(app) as client:
        unknown = client.get("/accounts")
        wrong_method = client.delete("/users/user1")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Not Found"})
    assert (wrong_method.status_code, wrong_method.json()) == (
        405,
        {"error": "Method Not Allowed"},
    )


def test_openapi_schema_lists_the_routes() -> None:
    with TestClient(create_app(Settings.from_env({}))) as client:
        schema = client.get("/schema/openapi.json").json()
    assert schema["info"]["title"] == "User Service API"
    assert {"/", "/users", "/users/{user_id}", "/readiness", "/liveness"} <= set(schema["paths"])
