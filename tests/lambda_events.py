"""API Gateway proxy events as Lambda receives them (REST API v1 and HTTP API v2)."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl

HOST = "abc123.execute-api.us-east-1.amazonaws.com"


class FakeContext:
    function_name = "clinic-web"
    memory_limit_in_mb = 512
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:clinic-web"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def rest_event(method, path, body=None, headers=None, query="", stage="prod", binary=False):
    """A REST API (payload 1.0) proxy event, path without the stage like API Gateway sends."""
    all_headers = {
        "Host": HOST,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "443",
        "User-Agent": "pytest",
    }
    all_headers.update(headers or {})
    params = dict(parse_qsl(query)) if query else None
    raw = body.encode() if isinstance(body, str) else body
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": params,
        "multiValueQueryStringParameters": {k: [v] for k, v in params.items()} if params else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
            "accountId": "123456789012",
            "apiId": "abc123",
            "protocol": "HTTP/1.1",
        },
        "body": base64.b64encode(raw).decode()
        if (binary and raw)
        else (raw.decode() if raw else None),
        "isBase64Encoded": bool(binary and raw),
    }


def http_event(method, path, body=None, headers=None, query="", cookies=None):
    """An HTTP API (payload 2.0) event on the $default stage."""
    all_headers = {
        "host": HOST,
        "x-forwarded-proto": "https",
        "x-forwarded-port": "443",
        "user-agent": "pytest",
    }
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "cookies": cookies or [],
        "headers": all_headers,
        "queryStringParameters": dict(parse_qsl(query)) if query else None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": HOST,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "pytest",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def json_body(result) -> object:
    body = result["body"]
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body)


def header(result, name):
    for source in ("headers", "multiValueHeaders"):
        for key, value in (result.get(source) or {}).items():
            if key.lower() == name.lower():
                return value[0] if isinstance(value, list) else value
    return None
