"""Against the real stack (gunicorn + dynalite + a dedicated redis-server on free ports).

- `fuzz`: a bounded, deterministic schemathesis run from the OpenAPI description: no 5xx,
  every response matches the description (status, headers, content type, body).
- `load`: the quick version of `bench/load.py`; asserts the facts (counts, no errors,
  BYPASS while Redis is down, HIT again after), never timings.
"""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from bench import load
from localdev.stack import Stack
from webapp.apidoc import openapi_spec

# -- fuzzing ----------------------------------------------------------------------------------

FUZZ_EXAMPLES_PER_OPERATION = 100
STAFF = ("fuzz.staff@clinic.example", "a-long-fuzzing-password-1")
STAFF_EXAMPLES_PER_OPERATION = 15

schema = schemathesis.openapi.from_dict(
    openapi_spec(),
    config=schemathesis.Config.from_dict(
        {
            # Staff operations: schemathesis signs in itself, and also checks that missing
            # or wrong credentials are refused.
            "auth": {"basic": {"username": STAFF[0], "password": STAFF[1]}},
            "generation": {
                "mode": "all",  # valid and invalid input
                "max-examples": FUZZ_EXAMPLES_PER_OPERATION,
                "deterministic": True,  # the same requests on every run
            },
            "operations": [
                {
                    # JSON Schema cannot say everything the server checks: a window's
                    # `to` not before `from` and at most 366 days on; deliverable email
                    # domains (`x@y.test` is "format: email" but not an address); text
                    # that is valid UTF-8 (JSON allows lone surrogates); a signed page
                    # `cursor`. So schema-valid input may get a 400 here, never a 5xx.
                    "include-path-regex": (
                        "^/(appointment-slot|book-appointment|api/staff/appointments)$"
                    ),
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "404", "409"]
                        }
                    },
                },
                {
                    # The same for what only the server can know: a booking the token names
                    # that has started or moved on; a practitioner id that exists; weekly
                    # ranges that do not overlap; a closure that is not already over; times
                    # to add that are HH:MM and not all in the past; a waitlist range from
                    # today to the booking horizon, with names free of invisible characters.
                    "include-path-regex": (
                        "^/(my-appointment/.*|join-waitlist"
                        "|api/staff/(practitioners|closures|slots)(/.*)?)$"
                    ),
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "404", "409"]
                        }
                    },
                },
                {
                    # Each staff request checks a password with scrypt (slow by design).
                    "include-path-regex": "^/api/staff/",
                    "generation": {"max-examples": STAFF_EXAMPLES_PER_OPERATION},
                },
            ],
        }
    ),
)


_requests_made: list[str] = []
_lock = threading.Lock()


def _by_operation(requests: list[str]) -> dict[str, dict[str, int]]:
    """Status counts per described operation; undescribed methods (405s) in one line."""
    described = {
        f"{method.upper()} {path}"
        for path, item in openapi_spec()["paths"].items()
        for method in item
    }
    table: dict[str, Counter] = {}
    for line in requests:
        operation, status = line.rsplit(" ", 1)
        key = operation if operation in described else "other methods"
        table.setdefault(key, Counter())[status] += 1
    return {key: dict(sorted(counts.items())) for key, counts in sorted(table.items())}


@pytest.fixture(scope="module")
def live_stack(request):
    # The sign-in throttle would answer schemathesis's invalid-credential probes with 429
    # (as it should against guessing); here they must reach the 401 they are checking.
    limits = {
        "LOGIN_MAX_FAILURES_PER_CLIENT": "1000000",
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": "1000000",
    }
    with Stack(workers=2, threads=4, env=limits) as stack:
        stack.add_slots(40, first_day="2031-05-05")
        stack.add_staff(*STAFF)
        yield stack
    log = stack.log_text()  # read after the servers stopped: every line is complete
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    if _requests_made and reporter is not None:
        with plugins.get_plugin("capturemanager").global_and_fixture_disabled():
            reporter.write_line(
                f"\nschemathesis: {len(_requests_made)} requests "
                f"(at most {FUZZ_EXAMPLES_PER_OPERATION} examples per operation)"
            )
            for operation, statuses in _by_operation(_requests_made).items():
                reporter.write_line(f"  {operation}: {statuses}")
    served = []
    for line in log.splitlines():
        if line.startswith("{"):
            try:
                served.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"not one JSON object: {line!r}") from None
    statuses = [entry["status"] for entry in served if entry["logger"] == "webapp.access"]
    assert statuses and max(statuses) < 500


@pytest.mark.fuzz
@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)
def test_api_conforms_under_fuzzing(case, live_stack):
    response = case.call_and_validate(base_url=live_stack.url)
    with _lock:
        _requests_made.append(f"{case.method} {case.path} {response.status_code}")
    assert response.status_code < 500


# -- load and faults --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_load_report():
    return load.run_all("quick")


@pytest.mark.load
def test_contention_books_each_slot_exactly_once(quick_load_report):
    c = quick_load_report["contention"]
    assert (c["attempts"], c["slots"]) == (200, 20)
    assert c["booked"] == 20
    assert c["conflicts"] == 180
    assert c["errors"] == 0
    assert c["double_bookings"] == 0
    assert c["slots_not_pending"] == 0
    assert c["winner_mismatches"] == 0
    assert c["slots_without_winner"] == 0


@pytest.mark.load
def test_throughput_phases_answer_without_errors(quick_load_report):
    phases = quick_load_report["throughput"]["phases"]
    listing = phases["cached listing"]
    assert listing["errors"] == 0
    assert listing["cache"] == {"HIT": listing["requests"]}
    assert listing["slots_listed"] >= 200
    assert phases["floor (/livez)"]["statuses"] == {200: phases["floor (/livez)"]["requests"]}
    assert phases["booking"]["statuses"] == {200: phases["booking"]["requests"]}
    assert phases["/healthz (DynamoDB + Redis)"]["errors"] == 0


@pytest.mark.load
def test_redis_killed_mid_run_then_back(quick_load_report):
    r = quick_load_report["redis_outage"]
    assert r["non_200"] == 0
    assert set(r["before_kill"]) == {"HIT"}
    assert set(r["after_kill"]) == {"BYPASS"} and r["after_kill"]["BYPASS"] > 0
    assert r["resumed"]
    assert r["resume_probe"].get("HIT", 0) >= 20


@pytest.mark.load
def test_no_patient_data_in_the_servers_logs(quick_load_report):
    assert quick_load_report["log_lines"] > 0
    assert quick_load_report["patient_data_in_logs"] is False


@pytest.mark.load
def test_the_bench_prints_its_figures(quick_load_report, capsys):
    load.print_report(quick_load_report)
    out = capsys.readouterr().out
    for needle in ("contention:", "cached listing / floor", "p99", "resumed=True"):
        assert needle in out
    json.dumps(quick_load_report)  # the --json report is serialisable


@pytest.mark.fuzz
def test_list_then_book_workflow_conforms(live_stack):
    """Stateful: follow the description's link from a listing to booking a listed slot."""
    base = schema.as_state_machine()
    calls: list[int] = []

    class Workflow(base):
        def get_call_kwargs(self, case):
            return {"base_url": live_stack.url}

        def after_call(self, response, case):
            calls.append(response.status_code)
            with _lock:
                _requests_made.append(f"{case.method} {case.path} {response.status_code}")
            assert response.status_code < 500

    Workflow.run(
        settings=settings(
            max_examples=FUZZ_EXAMPLES_PER_OPERATION // 4,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            stateful_step_count=4,
        )
    )
    assert 200 in calls
