"""Operational endpoints: health of the dependencies, liveness, the API description."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .apidoc import openapi_json
from .errors import RETRY_AFTER_SECONDS
from .extensions import cache, store
from .store.errors import StoreUnavailable

bp = Blueprint("ops", __name__)

OK, DEGRADED, UNAVAILABLE, DISABLED = "ok", "degraded", "unavailable", "disabled"


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    """DynamoDB and Redis reachability. 200 while DynamoDB answers (Redis is optional)."""
    try:
        store().ping()
        dynamodb = OK
    except StoreUnavailable:
        dynamodb = UNAVAILABLE
    redis = OK if cache().ping() else UNAVAILABLE
    if not cache().enabled:
        redis = DISABLED

    if dynamodb != OK:
        status, code = UNAVAILABLE, 503
    elif redis == UNAVAILABLE:
        status, code = DEGRADED, 200
    else:
        status, code = OK, 200
    response = jsonify(status=status, checks={"dynamodb": dynamodb, "redis": redis})
    response.status_code = code
    if code == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return _no_store(response)


@bp.get("/livez")
def livez():
    """The process answers; touches nothing else (the framework's own floor)."""
    return _no_store(jsonify(status=OK))


@bp.get("/openapi.json")
def openapi():
    response = Response(openapi_json(), mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
