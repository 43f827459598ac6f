"""Run inside a fresh interpreter (`python -I -S invoke_packaged.py TASK_DIR DEV_SITE`).

TASK_DIR is the unpacked deployment zip, as Lambda lays it out in /var/task. DEV_SITE is
the development venv's site-packages, appended *after* it only to provide what the Lambda
runtime provides (boto3/botocore) and moto to fake DynamoDB. Everything the app imports
beyond that must come from the zip; the script checks it and prints one JSON line.
"""

from __future__ import annotations

import json
import sys

task_dir, dev_site = sys.argv[1], sys.argv[2]
sys.path.insert(0, task_dir)
sys.path.append(dev_site)

from datetime import date, timedelta  # noqa: E402

from moto import mock_aws  # noqa: E402


def api_event(method: str, path: str, query: str = "", headers: dict | None = None) -> dict:
    """An API Gateway HTTP API (payload 2.0) event, as the $default stage sends it."""
    return {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "packaged-zip-test",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
            **(headers or {}),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "packaged-zip-test",
            },
            "requestId": "req-1",
            "routeKey": "ANY /{proxy+}",
            "stage": "$default",
            "time": "25/Nov/2026:09:00:00 +0000",
            "timeEpoch": 1795597200000,
        },
        "isBase64Encoded": False,
    }


with mock_aws():
    import webapp
    from webapp.settings import load_settings
    from webapp.store import Store

    settings = load_settings()
    store = Store(settings)
    store.table.create()
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    store.appointments.put_slot(
        "packaged-1", tomorrow, "09:30", f"{date.today().isoformat()}T00:00:00Z"
    )

    import flask
    import wsgi_handler

    listing = wsgi_handler.handler(api_event("GET", "/appointment-slot"), None)
    page = wsgi_handler.handler(api_event("GET", "/"), None)
    # In Spanish: the compiled catalog and Babel's Spanish data must come from the zip.
    spanish = wsgi_handler.handler(api_event("GET", "/", headers={"accept-language": "es"}), None)
    preflight = wsgi_handler.handler(
        api_event(
            "OPTIONS",
            "/book-appointment",
            headers={
                "origin": "https://d111111abcdef8.cloudfront.net",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        ),
        None,
    )

print(
    json.dumps(
        {
            "webapp_file": webapp.__file__,
            "flask_file": flask.__file__,
            "wsgi_handler_file": wsgi_handler.__file__,
            "listing": listing,
            "page_status": page["statusCode"],
            "page_headers": page.get("headers", {}),
            "page_body": page.get("body", ""),
            "spanish_body": spanish.get("body", ""),
            "babel_modules": sorted(m for m in sys.modules if m.startswith("babel")),
            "preflight": {
                "statusCode": preflight["statusCode"],
                "headers": preflight.get("headers", {}),
            },
        }
    )
)
