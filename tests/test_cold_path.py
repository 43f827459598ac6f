"""The Lambda entry's cache-hit path stays light: serving a cached listing never loads boto3.

Checked in a fresh interpreter (a module, once imported, stays in sys.modules), through
serverless-wsgi with an API Gateway REST (v1) event, as on Lambda. DynamoDB points at a
closed port, so a listing that reached it could not succeed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from localdev.services import free_port
from tests.helpers import REDIS_HOST, REDIS_PORT
from tests.lambda_events import rest_event

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys
import serverless_wsgi
from webapp.wsgi import app

response = serverless_wsgi.handle_request(app, json.loads(sys.argv[1]), None)
headers = dict(response.get("headers") or {})
headers.update((k, v[0]) for k, v in (response.get("multiValueHeaders") or {}).items())
print(json.dumps({
    "status": response["statusCode"],
    "x_cache": headers.get("X-Cache"),
    "body": json.loads(response["body"]),
    "botocore": "botocore" in sys.modules,
    "boto3": "boto3" in sys.modules,
}))
"""


def serve_in_fresh_process(env: dict[str, str], path: str) -> dict:
    process = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(rest_event("GET", path))],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout.strip().splitlines()[-1])


def test_cache_hit_listing_does_not_import_boto(make_app, cache_prefix, future_slot):
    env = {
        "APP_ENV": "test",
        "REDIS_HOST": REDIS_HOST,
        "REDIS_PORT": str(REDIS_PORT),
        "CACHE_KEY_PREFIX": cache_prefix,
        "CLINIC_TIMEZONE": "Australia/Melbourne",
    }
    # This process (moto) lists once, which fills the shared Redis cache.
    warm = make_app(**env).test_client().get("/appointment-slot")
    assert warm.headers["X-Cache"] == "MISS"
    assert [slot["appointmentId"] for slot in warm.json] == [future_slot]

    child_env = {
        **env,
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DYNAMODB_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }
    result = serve_in_fresh_process(child_env, "/appointment-slot")

    assert result["status"] == 200
    assert result["x_cache"] == "HIT"
    assert result["body"] == warm.json
    assert result["botocore"] is False
    assert result["boto3"] is False
