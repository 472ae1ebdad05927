"""The OpenAPI 3.1 document of the /api routes, generated from the route table (`servers.api.routes`) and
the pydantic models of the bodies and responses (their JSON schemas, shared definitions as components)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from servers.api.queries import query_parameters
from servers.api.resources import Error
from servers.api.routes import ADMIN, ANYONE, ID, PATH_PARAMETERS, ROUTES, Route

_REF = "#/components/schemas/{model}"
_ERRORS = {
    400: "invalid input",
    401: "not logged in",
    403: "wrong role or missing CSRF token",
    404: "no such resource",
    409: "conflict with the resource's state",
    410: "removed by retention",
    413: "upload too large",
    415: "wrong content type",
    429: "too many failed logins, or too many streams of this user",
    503: "database, queue or stream slots unavailable",
}
_ANSWERS = {200: "OK", 201: "created", 202: "queued", 204: "done", 206: "a byte range"}


def _models() -> list[type[BaseModel]]:
    models = [Error]
    for route in ROUTES:
        models += [item for item in (*route.answers.values(), route.body) if isinstance(item, type)]
    return list(dict.fromkeys(models))


def _schemas() -> tuple[dict[type[BaseModel], dict[str, Any]], dict[str, Any]]:
    """Each model's schema (a $ref to the components) and the components."""
    refs, definitions = models_json_schema([(model, "validation") for model in _models()], ref_template=_REF)
    return {model: schema for (model, _), schema in refs.items()}, definitions.get("$defs", {})


def _content(answer: Any, refs: dict[type[BaseModel], dict[str, Any]]) -> dict[str, Any]:
    if isinstance(answer, str):
        return {answer: {}}
    schema = refs[answer] if isinstance(answer, type) else answer
    return {"application/json": {"schema": schema}}


def _operation(route: Route, refs: dict[type[BaseModel], dict[str, Any]]) -> dict[str, Any]:
    errors = set(route.errors)
    if route.role != ANYONE:
        errors.add(401)
    if route.role == ADMIN or route.method != "get":
        errors.add(403)  # the role, or the CSRF token of a state-changing request
    error = _content(Error, refs)
    responses: dict[str, Any] = {
        str(status): {
            "description": _ANSWERS[status],
            **({"content": _content(answer, refs)} if answer else {}),
        }
        for status, answer in route.answers.items()
    }
    responses |= {
        str(status): {"description": _ERRORS[status], "content": error} for status in sorted(errors)
    }
    path = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS.get(name, ID)}
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    query = query_parameters(route.query) if route.query else []
    operation: dict[str, Any] = {"summary": route.summary, "x-role": route.role, "responses": responses}
    if path or query:
        operation["parameters"] = path + query
    if isinstance(route.body, type):
        operation["requestBody"] = {"required": True, "content": _content(route.body, refs)}
    elif route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": route.body}},
        }
    if route.role == ANYONE:
        operation["security"] = []
    return operation


def build_spec() -> dict[str, Any]:
    """The OpenAPI document."""
    refs, schemas = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Surveillance API",
            "version": "1.0.0",
            "description": "Login cookie auth: log in, then send `X-CSRF-Token` on state-changing "
            "requests. `x-role` says who may call an operation: anyone, any logged-in user, or admins.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"cookie": {"type": "apiKey", "in": "cookie", "name": "surveillance_session"}},
        },
        "security": [{"cookie": []}],
    }


SPEC: dict[str, Any] = build_spec()
