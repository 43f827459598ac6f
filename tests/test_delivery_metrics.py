"""Delivery metrics: each notification invocation writes its counts as one CloudWatch EMF
line (Powertools Metrics); the web function never loads Powertools."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.notification_helpers import FakeContext, book, decided, stream_event, stream_record
from tests.test_bounces import ses_bounce, sns_event
from webapp.notifications import bounces, worker


def emf_lines(text: str) -> list[dict]:
    found = []
    for line in text.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            found.append(json.loads(line))
    return found


def value(line: dict, name: str) -> float:
    raw = line[name]
    return sum(raw) if isinstance(raw, list) else raw


def test_the_notifier_publishes_sent_failed_and_suppressed(
    lambda_app, now, add_slot, capsys, monkeypatch
):
    item = book(lambda_app, add_slot("2030-06-04", "09:00"))
    capsys.readouterr()
    worker.handle_stream(
        stream_event(stream_record("MODIFY", item, decided(item, "ACCEPTED"))), FakeContext()
    )
    (line,) = emf_lines(capsys.readouterr().out)
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "ClinicAppointments"
    assert line["service"] == "notifier"
    counts = [value(line, n) for n in ("EmailsSent", "EmailsFailed", "EmailsSuppressed")]
    assert counts == [1, 0, 0]
    assert "ada@example.com" not in json.dumps(line)

    monkeypatch.setattr(bounces, "_store", None)
    bounces.handle_ses_event(sns_event(ses_bounce("ada@example.com")), FakeContext())
    (line,) = emf_lines(capsys.readouterr().out)
    assert line["service"] == "bounces" and value(line, "AddressesSuppressed") == 1

    cancelled = decided(decided(item, "ACCEPTED"), "CANCELLED")
    worker.handle_stream(
        stream_event(stream_record("MODIFY", decided(item, "ACCEPTED"), cancelled)), FakeContext()
    )
    (line,) = emf_lines(capsys.readouterr().out)
    assert [value(line, "EmailsSent"), value(line, "EmailsSuppressed")] == [0, 1]


def test_the_web_function_never_imports_powertools():
    code = (
        "import sys\n"
        "from webapp.wsgi import app\n"
        "client = app.test_client()\n"
        "assert client.get('/livez').status_code == 200\n"
        "assert client.get('/appointment-slot').status_code in (200, 503)\n"
        "assert 'aws_lambda_powertools' not in sys.modules, 'web loaded powertools'\n"
    )
    env = {
        "APP_ENV": "test",
        "PATH": "",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
