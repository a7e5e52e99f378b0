"""The original user-service suite, ported: six tests, the flaky one kept as it was."""

import random
import time

from litestar import Litestar
from litestar.testing import TestClient

# The original five users, keyed and identified user1..user5 (the stocks' owners).
EXPECTED_USERS = {
    "user1": ("John Doe", "admin"),
    "user2": ("Jane Smith", "user"),
    "user3": ("Bob Johnson", "user"),
    "user4": ("Alice Williams", "manager"),
    "user5": ("Charlie Brown", "user"),
}


def test_root_returns_the_service_message(client: TestClient[Litestar]) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.json() == {"message": "User Service API"}


def test_list_users_returns_every_user_keyed_by_id(client: TestClient[Litestar]) -> None:
    response = client.get("/users")
    assert response.status_code == 200
    users = response.json()
    assert {key: (u["name"], u["role"]) for key, u in users.items()} == EXPECTED_USERS


def test_get_user_by_id(client: TestClient[Litestar]) -> None:
    response = client.get("/users/user1")
    assert response.status_code == 200
    assert response.json() == {
        "id": "user1",
        "name": "John Doe",
        "email": "john@example.com",
        "role": "admin",
    }


def test_unknown_user_is_404(client: TestClient[Litestar]) -> None:
    response = client.get("/users/999")
    assert response.status_code == 404
    assert response.json() == {"error": "User not found"}


def test_every_user_has_the_expected_shape(client: TestClient[Litestar]) -> None:
    for key, user in client.get("/users").json().items():
        assert set(user) == {"id", "name", "email", "role"}
        assert user["id"] == key
        assert user["email"].endswith("@example.com")


def test_user_lookup_under_load(client: TestClient[Litestar]) -> None:
    # Deliberately flaky, as in the original suite: the package's rerun policy absorbs it.
    if random.random() < 0.25:
        time.sleep(5)
        raise TimeoutError("Request timed out")
    response = client.get("/users/user2")
    assert response.status_code == 200
    assert response.json()["name"] == "Jane Smith"
