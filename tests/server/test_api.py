"""Auth, roles, users, bad input and the OpenAPI document against a real server on 127.0.0.1."""

from __future__ import annotations

import re

import pytest

from harness.server import ADMIN_PASSWORD, Client, ServerProcess
from servers.api.spec import SPEC

MISSING_ID = "0" * 32


@pytest.fixture(scope="module")
def viewer(server: ServerProcess) -> Client:
    admin = server.admin()
    response = admin.post(
        "/api/users", json={"username": "viewer1", "password": "viewer-pass", "role": "viewer"}
    )
    assert response.status_code == 201, response.text
    return server.client().login("viewer1", "viewer-pass")


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "params"} and body["message"], body
    assert isinstance(body["params"], dict), body
    assert "Traceback" not in body["message"]
    if code is not None:
        assert body["error"] == code, body
    return body


def test_health_needs_no_login(server: ServerProcess) -> None:
    body = server.client().get("/api/health").json()
    assert body["database"]["status"] == "ok" and body["database"]["engine"] == server.engine
    assert body["workers"]["workers"] == 1
    assert "status" in body["models"]


def test_login_me_logout_and_cookie_flags(server: ServerProcess) -> None:
    client = server.client()
    assert_error(client.get("/api/auth/me"), 401, "unauthorized")
    response = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    body = response.json()
    assert body["user"]["username"] == "admin" and body["user"]["role"] == "admin"
    assert set(body["user"]) == {"id", "username", "role", "created_at"}
    me = client.get("/api/auth/me").json()
    assert me == body
    assert_error(client.post("/api/auth/logout"), 403, "csrf")  # the token is needed to log out too
    assert client.post("/api/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]}).status_code == 204
    assert_error(client.get("/api/auth/me"), 401)


def test_wrong_password_and_throttling(server: ServerProcess) -> None:
    client = server.client()
    server.admin().post(
        "/api/users", json={"username": "victim", "password": "victim-pass", "role": "viewer"}
    )
    for _ in range(3):  # login-free-attempts = 3 (default)
        assert_error(
            client.post("/api/auth/login", json={"username": "victim", "password": "wrong-pass"}),
            401,
            "invalid-credentials",
        )
    assert_error(client.post("/api/auth/login", json={"username": "victim", "password": "wrong-pass"}), 401)
    blocked = client.post("/api/auth/login", json={"username": "victim", "password": "victim-pass"})
    assert_error(blocked, 429, "too-many-attempts")
    assert int(blocked.headers["Retry-After"]) >= 1
    # another account from the same address is not slowed down
    assert (
        client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code
        == 200
    )
    assert_error(client.post("/api/auth/login", json={"username": "nobody", "password": "whatever1"}), 401)


def test_csrf_is_required_for_writes(server: ServerProcess) -> None:
    admin = server.admin()
    token = admin.http.headers.pop("X-CSRF-Token")
    assert_error(admin.post("/api/users", json={"username": "x1", "password": "x1-passwd"}), 403, "csrf")
    assert_error(
        admin.post(
            "/api/users", json={"username": "x1", "password": "x1-passwd"}, headers={"X-CSRF-Token": "forged"}
        ),
        403,
        "csrf",
    )
    assert (
        admin.post(
            "/api/users", json={"username": "x1", "password": "x1-passwd"}, headers={"X-CSRF-Token": token}
        ).status_code
        == 201
    )


ROLE_MATRIX = [  # (method, path, json, anonymous, viewer)
    ("GET", "/api/videos", None, 401, 200),
    ("GET", f"/api/videos/{MISSING_ID}", None, 401, 404),
    ("POST", "/api/videos", None, 401, 403),
    ("DELETE", f"/api/videos/{MISSING_ID}", None, 401, 403),
    ("GET", "/api/sessions", None, 401, 200),
    ("POST", "/api/sessions", {"name": "cam", "source": "rtsp://127.0.0.1:9/x"}, 401, 403),
    ("POST", f"/api/sessions/{MISSING_ID}/stop", None, 401, 403),
    ("PATCH", f"/api/sessions/{MISSING_ID}", {"notify": False}, 401, 403),
    ("DELETE", f"/api/sessions/{MISSING_ID}", None, 401, 403),
    ("GET", f"/api/sessions/{MISSING_ID}/alerts", None, 401, 404),
    ("GET", "/api/users", None, 401, 403),
    ("POST", "/api/users", {"username": "intruder", "password": "password1"}, 401, 403),
    ("DELETE", f"/api/users/{MISSING_ID}", None, 401, 403),
    ("PUT", f"/api/users/{MISSING_ID}/password", {"password": "password1"}, 401, 403),
    ("GET", "/api/auth/me", None, 401, 200),
    ("GET", "/api/health", None, 200, 200),
    ("GET", "/api/openapi.json", None, 200, 200),
]


@pytest.mark.parametrize(("method", "path", "body", "anonymous", "as_viewer"), ROLE_MATRIX)
def test_role_matrix(server: ServerProcess, viewer: Client, method, path, body, anonymous, as_viewer) -> None:
    assert server.client().request(method, path, json=body).status_code == anonymous
    response = viewer.request(method, path, json=body)
    assert response.status_code == as_viewer, response.text
    if as_viewer == 403:
        assert response.json()["error"] == "forbidden"


def test_users_management(server: ServerProcess) -> None:
    admin = server.admin()
    created = admin.post("/api/users", json={"username": "op2", "password": "op2-password", "role": "admin"})
    assert created.status_code == 201
    user = created.json()
    assert "password_hash" not in user and user["role"] == "admin"
    listed = admin.get("/api/users", params={"page_size": 100}).json()
    assert user["id"] in [item["id"] for item in listed["items"]]
    assert all("password_hash" not in item for item in listed["items"])
    assert_error(
        admin.post("/api/users", json={"username": "op2", "password": "op2-password"}), 409, "conflict"
    )
    assert_error(admin.post("/api/users", json={"username": "bad name!", "password": "password1"}), 400)
    assert_error(
        admin.post("/api/users", json={"username": "short", "password": "short"}), 400, "invalid-field"
    )
    assert_error(
        admin.post("/api/users", json={"username": "r", "password": "password1", "role": "root"}), 400
    )
    assert (
        admin.put(f"/api/users/{user['id']}/password", json={"password": "new-password"}).status_code == 204
    )
    server.client().login("op2", "new-password")
    me = admin.get("/api/auth/me").json()["user"]
    assert_error(admin.delete(f"/api/users/{me['id']}"), 409)
    assert admin.delete(f"/api/users/{user['id']}").status_code == 204
    assert_error(admin.delete(f"/api/users/{user['id']}"), 404)
    assert_error(
        server.client().post("/api/auth/login", json={"username": "op2", "password": "new-password"}), 401
    )


def test_viewer_changes_own_password_only(server: ServerProcess, viewer: Client) -> None:
    me = viewer.get("/api/auth/me").json()["user"]
    body = {"password": "viewer-pass", "current_password": "viewer-pass"}
    assert viewer.put(f"/api/users/{me['id']}/password", json=body).status_code == 204


def test_bad_input_is_a_clear_4xx(server: ServerProcess) -> None:
    admin = server.admin()
    before = admin.get("/api/users").json()
    assert_error(admin.get("/api/videos/not-an-id"), 400, "invalid-id")
    assert_error(admin.get(f"/api/videos/{MISSING_ID}"), 404, "not-found")
    assert_error(admin.get("/api/no/such/route"), 404, "not-found")
    assert_error(admin.request("PATCH", "/api/videos"), 405, "method-not-allowed")
    assert_error(admin.get("/api/videos", params={"page": "0"}), 400, "invalid-parameter")
    assert_error(admin.get("/api/videos", params={"page_size": "1000"}), 400, "invalid-parameter")
    assert_error(admin.get("/api/videos", params={"status": "weird"}), 400, "invalid-parameter")
    malformed = admin.post("/api/users", data="{not json", headers={"Content-Type": "application/json"})
    assert_error(malformed, 400, "malformed-json")
    assert_error(admin.post("/api/users", json=[1, 2]), 400, "malformed-json")
    assert_error(admin.post("/api/users", data="username=x"), 415, "unsupported-media-type")
    assert_error(server.client().post("/api/auth/login", json={"username": 3}), 400, "invalid-field")
    assert admin.get("/api/users").json() == before


@pytest.mark.parametrize(
    "source",
    [
        "ftp://127.0.0.1/cam",
        "file:///etc/passwd",
        "rtsp://",
        "not a url",
        "http://exa mple.com/",
        "javascript:alert(1)",
        "",
    ],
)
def test_bad_stream_url(server: ServerProcess, source: str) -> None:
    admin = server.admin()
    before = admin.get("/api/sessions").json()["total"]
    body = assert_error(admin.post("/api/sessions", json={"name": "cam", "source": source}), 400)
    assert "source" in body["message"] or "scheme" in body["message"]
    assert admin.get("/api/sessions").json()["total"] == before


def test_unreachable_stream_is_a_4xx(server: ServerProcess) -> None:
    admin = server.admin()
    response = admin.post("/api/sessions", json={"name": "cam", "source": "http://127.0.0.1:9/none.ts"})
    assert_error(response, 400, "stream-unavailable")
    assert admin.get("/api/sessions").json()["total"] == 0


def test_openapi_matches_the_flask_routes(server: ServerProcess, tmp_path) -> None:
    from servers.app import create_app
    from servers.config import ServerConfig

    app = create_app(ServerConfig(storage_directory=tmp_path), start_services=False)
    rules = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            rules |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, operations in SPEC["paths"].items() for method in operations}
    assert rules == documented
    served = server.client().get("/api/openapi.json").json()
    assert served["paths"].keys() == SPEC["paths"].keys()
    app.extensions["surveillance"].database.close()


def test_bodies_are_checked_as_documented(server: ServerProcess) -> None:
    """A JSON body without the first field its documented schema requires is a 400 naming that field."""
    admin = server.admin()
    own = admin.get("/api/auth/me").json()["user"]["id"]
    schemas = SPEC["components"]["schemas"]
    checked = []
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None or "{session_id}" in path:  # an unknown camera is a 404 before its body
                continue
            schema = schemas[body["schema"]["$ref"].rsplit("/", 1)[1]]
            url = path.replace("{user_id}", own).replace("{event_id}", "alert-" + MISSING_ID)
            error = assert_error(admin.request(method, url, json={}), 400, "invalid-field")
            assert error["params"]["field"] == schema["required"][0], (path, error)
            checked.append((method, path))
    assert len(checked) == 5, checked


def _outside(schema: dict) -> str:
    """A value the documented schema of a query parameter refuses."""
    if "enum" in schema:
        return "not-" + schema["enum"][0]
    if "maximum" in schema:
        return repr(schema["maximum"] * 10 + 1)
    if "pattern" in schema:
        return "not-an-id"
    if "maxLength" in schema:
        return "a" * (schema["maxLength"] + 1)
    if schema.get("format") == "date-time":
        return "yesterday"
    assert schema["type"] == "boolean", schema
    return "maybe"


def test_query_strings_are_checked_as_documented(server: ServerProcess) -> None:
    """Every documented query parameter refuses a value outside its schema with a 400 naming it (the
    schema and the check are one pydantic model), before the resource is looked up."""
    admin = server.admin()
    checked = []
    for path, operations in SPEC["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["in"] != "query":
                continue
            url = path.replace("{session_id}", MISSING_ID)
            name = parameter["name"]
            response = admin.get(url, params={name: _outside(parameter["schema"])})
            error = assert_error(response, 400, "invalid-parameter")
            assert error["params"] == {"parameter": name}, (path, error)
            assert error["message"] == f"query parameter '{name}' must be {parameter['description']}"
            checked.append((path, name))
    assert len(checked) == 22, checked
