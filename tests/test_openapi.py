"""The OpenAPI description stays true: same routes as the app, responses match its schemas."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from tests.helpers import booking_json
from webapp.apidoc import SpecError, build_spec, openapi_spec
from webapp.errors import API_PATH_PREFIXES, OPS_PATHS
from webapp.extensions import services

# Blueprints that answer in JSON; any route under API_PATH_PREFIXES counts too, so a new
# JSON API (staff, ...) must be described before its tests can pass.
JSON_BLUEPRINTS = {"api", "ops"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def json_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        is_json = (
            blueprint in JSON_BLUEPRINTS
            or rule.rule.startswith(API_PATH_PREFIXES)
            or rule.rule in OPS_PATHS
        )
        if is_json:
            for method in rule.methods - IGNORED_METHODS:
                routes.add((method, _openapi_path(rule.rule)))
    return routes


def spec_operations(spec: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_every_json_route_is_described_and_nothing_else(app):
    routes = json_routes(app)
    described = spec_operations(openapi_spec())
    assert routes - described == set(), "JSON routes missing from webapp/openapi/*.json"
    assert described - routes == set(), "described operations the app does not serve"


def test_served_document_is_the_assembled_spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json == build_spec()
    assert response.json["openapi"].startswith("3.1")


def test_operation_ids_are_unique_and_refs_resolve():
    spec = openapi_spec()
    ids = [
        operation["operationId"]
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    assert len(ids) == len(set(ids))
    text = json.dumps(spec)
    for ref in set(re.findall(r'"\$ref": "#/([^"]+)"', text)):
        node = spec
        for part in ref.split("/"):
            node = node[part]  # KeyError names a dangling $ref


def test_fragments_may_not_redefine_each_other(tmp_path):
    (tmp_path / "base.json").write_text(json.dumps({"openapi": "3.1.0", "paths": {}}))
    fragment = {"paths": {"/x": {"get": {"responses": {}}}}}
    (tmp_path / "a.json").write_text(json.dumps(fragment))
    (tmp_path / "b.json").write_text(json.dumps(fragment))
    with pytest.raises(SpecError, match="/x"):
        build_spec(tmp_path)


# -- responses conform ------------------------------------------------------------------------


def node_ref_parts(ref: str) -> list[str]:
    return ref.removeprefix("#/").split("/")


def deref(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        target = spec
        for part in node_ref_parts(node["$ref"]):
            target = target[part]
        node = target
    return node


def assert_conforms(method: str, path: str, response) -> None:
    """The response's status, headers and JSON body are what the description promises."""
    spec = openapi_spec()
    operation = spec["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path}: undocumented {status}"
    documented = deref(spec, operation["responses"][status])
    for name, header in documented.get("headers", {}).items():
        header = deref(spec, header)
        if header.get("required"):
            assert name in response.headers, f"{method} {path} {status}: no {name} header"
        if name in response.headers:
            _validate(spec, header["schema"], response.headers[name])
    content = documented.get("content", {})
    if content:
        assert response.mimetype in content, f"{method} {path} {status}: {response.mimetype}"
        _validate(spec, content[response.mimetype]["schema"], response.get_json())


def _validate(spec: dict, schema: dict, instance) -> None:
    # Local $refs resolve against a document holding the spec's components.
    document = {**schema, "components": spec["components"]}
    Draft202012Validator(document, format_checker=FormatChecker()).validate(instance)


def _slot(app, day="2030-06-04", time="09:00"):
    appointment_id = f"{day.replace('-', '')}-{time.replace(':', '')}"
    services(app).store.appointments.put_slot(appointment_id, day, time, "t")
    return appointment_id


SCENARIOS = [
    ("GET", "/appointment-slot", lambda app, c: c.get("/appointment-slot")),
    ("GET", "/appointment-slot", lambda app, c: c.get("/appointment-slot?from=2030-06-04")),
    ("GET", "/appointment-slot", lambda app, c: c.get("/appointment-slot?from=June")),
    ("GET", "/appointment-slot", lambda app, c: c.post("/appointment-slot")),
    ("POST", "/book-appointment", lambda app, c: c.post("/book-appointment", json={})),
    ("POST", "/book-appointment", lambda app, c: c.post("/book-appointment", data="[")),
    (
        "POST",
        "/book-appointment",
        lambda app, c: c.post("/book-appointment", json=booking_json(_slot(app))),
    ),
    (
        "POST",
        "/book-appointment",
        lambda app, c: c.post("/book-appointment", json=booking_json("missing")),
    ),
    (
        "POST",
        "/book-appointment",
        lambda app, c: c.post("/book-appointment", json=booking_json(_slot(app, "2030-06-03"))),
    ),
    (
        "POST",
        "/book-appointment",
        lambda app, c: c.post(
            "/book-appointment", data="x" * 70_000, content_type="application/json"
        ),
    ),
    ("POST", "/book-appointment", lambda app, c: c.get("/book-appointment")),
    ("GET", "/healthz", lambda app, c: c.get("/healthz")),
    ("GET", "/healthz", lambda app, c: c.put("/healthz")),
    ("GET", "/livez", lambda app, c: c.get("/livez")),
    ("GET", "/openapi.json", lambda app, c: c.get("/openapi.json")),
]


@pytest.mark.parametrize("method, path, call", SCENARIOS)
def test_responses_match_the_description(app, client, now, method, path, call):
    assert_conforms(method, path, call(app, client))


def test_conflict_and_success_match_the_description(app, client, now):
    slot = _slot(app)
    first = client.post("/book-appointment", json=booking_json(slot))
    second = client.post("/book-appointment", json=booking_json(slot))
    assert (first.status_code, second.status_code) == (200, 409)
    assert_conforms("POST", "/book-appointment", first)
    assert_conforms("POST", "/book-appointment", second)
    listing = client.get("/appointment-slot")
    _slot(app, time="10:00")
    assert_conforms("GET", "/appointment-slot", listing)
    assert_conforms("GET", "/appointment-slot", client.get("/appointment-slot"))
