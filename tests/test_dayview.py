"""The patients' calendar and day view: what each request reads, what it weighs."""

from __future__ import annotations

import re
from datetime import date, timedelta

from webapp.availability import upcoming_days
from webapp.extensions import services

TIMES = [f"{hour:02d}:{minute:02d}" for hour in range(9, 17) for minute in (0, 30)]


def _reads(store):
    """The DynamoDB operations the app makes from now on, with their parameters."""
    calls: list[tuple[str, dict]] = []

    def record(event_name, params, **_):
        calls.append((event_name.rsplit(".", 1)[-1], params))

    store.table.client.meta.events.register("provide-client-params.dynamodb", record)
    return calls


def _populate(app, days: int, names: list[str]) -> list[dict]:
    service = services(app)
    added = [service.practitioners.add({"name": name, "minutes": 30}) for name in names]
    _open(app, days, added)
    return added


def _open(app, days: int, practitioners: list[dict]) -> None:
    """TIMES on `days` days from 4 June 2030 for each practitioner (again: nothing new)."""
    for practitioner in practitioners:
        services(app).availability.create(
            upcoming_days(date(2030, 6, 4), days, False), TIMES, practitioner=practitioner
        )


SIX = ["Dr Ann Lee", "Dr Jo Smith", "Sam Park", "Kim Ng", "Dr Ray Cho", "Lee Wu"]
# The practitioner picker (a <select>, shown once two are active) is the one part of the
# first page that grows with them: one <option> each, a name and a role at most.
OPTION_BYTES = 120


def _picker(html: str) -> str:
    return re.search(r"<select id=\"filter-practitioner\".*?</select>", html, re.S).group(0)


def test_first_page_stays_small_for_56_days_of_six_practitioners(app, client, now):
    six = _populate(app, 14, SIX)
    fortnight = client.get("/")
    _open(app, 56, six)  # the same six, 56 days ahead
    horizon = client.get("/")
    for response in (fortnight, horizon):
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert len(response.data) < 20_000, len(response.data)
        # "Anyone": the first free day's times, each once, saying how many are free then.
        assert html.count('class="slot"') == len(TIMES)
        assert html.count("6 practitioners free") == len(TIMES)
    # The longer horizon only turns the calendar's later days into links.
    assert len(horizon.data) - len(fortnight.data) < 14 * 400
    print(f"first page: {len(fortnight.data)} bytes (14 days), {len(horizon.data)} (56 days)")
    assert '>96<span class="visually-hidden"> free times</span>' in horizon.get_data(as_text=True)


def test_first_page_does_not_grow_with_the_practitioners(app, client, now):
    added = _populate(app, 56, SIX[:1])
    one = client.get("/")
    added += _populate(app, 56, SIX[1:2])
    two = client.get("/")
    added += _populate(app, 56, SIX[2:])
    six = client.get("/")
    sizes = [len(response.data) for response in (one, two, six)]
    print(f"first page with 1, 2, 6 practitioners (56 days each): {sizes} bytes")
    two_html, six_html = two.get_data(as_text=True), six.get_data(as_text=True)
    # From two practitioners on, only the picker grows, by one option each ...
    picker_growth = len(_picker(six_html)) - len(_picker(two_html))
    assert 0 < picker_growth <= 4 * OPTION_BYTES, picker_growth
    assert abs(sizes[2] - sizes[1] - picker_growth) < 50, sizes
    # ... and from one to six, the picker and the counts beside the times are all that come.
    assert sizes[2] - sizes[0] < 1_500, sizes
    assert two_html.count('class="slot"') == six_html.count('class="slot"') == len(TIMES)
    # Each time leads to one free slot at that time, taking the practitioners in turn.
    links = re.findall(r'class="slot" href="/book/20300604-(\d{4})-([a-z-]+)"', six_html)
    assert [time for time, _ in links] == [time.replace(":", "") for time in TIMES]
    ids = sorted(practitioner["id"] for practitioner in added)
    assert [who for _, who in links] == [ids[k % 6] for k in range(len(TIMES))]


def test_calendar_and_day_read_one_query_each_then_the_cache(app, client, now, store):
    _populate(app, 28, ["Dr Ann Lee", "Dr Jo Smith"])
    calls = _reads(store)
    assert client.get("/?day=2030-06-20").status_code == 200
    queries = [params for name, params in calls if name == "Query"]
    # Two Queries (and the practitioners' directory, one GetItem, for the form); no Scan.
    assert sorted(name for name, _ in calls) == ["GetItem", "Query", "Query"], calls
    days, listing = queries
    # The calendar: the visible weeks' index entries, slotStart only.
    assert days["IndexName"] == listing["IndexName"] == "status-slotStart-index"
    assert days["ProjectionExpression"] == "slotStart"
    # Four weeks from Monday 17 June.
    assert days["ExpressionAttributeValues"][":hi"] == {"S": "2030-07-14T23:59"}
    # The day view: that day's window, nothing of the horizon.
    assert listing["ExpressionAttributeValues"][":lo"] == {"S": "2030-06-19T23:59"}
    assert listing["ExpressionAttributeValues"][":hi"] == {"S": "2030-06-20T23:59"}
    calls.clear()
    assert client.get("/?day=2030-06-20").status_code == 200
    assert [name for name, _ in calls if name != "GetItem"] == []  # both windows cached
    # Booking a time drops both windows: the counts follow at once.
    service = services(app)
    slot = service.availability.list_open(date(2030, 6, 20), date(2030, 6, 20))[0][0]
    service.availability.remove(slot["appointmentId"])
    html = client.get("/?day=2030-06-20").get_data(as_text=True)
    assert '>31<span class="visually-hidden"> free times' in html


def test_a_practitioner_filters_the_calendar(app, client, now):
    _populate(app, 3, ["Dr Ann Lee"])
    _populate(app, 10, ["Dr Jo Smith"])
    html = client.get("/?practitioner=dr-ann-lee&week=2030-06-10").get_data(as_text=True)
    assert "Monday 10 June: no free times" in html
    assert "No appointments available" in html  # no day of these weeks for her
    html = client.get("/?practitioner=dr-jo-smith&week=2030-06-10").get_data(as_text=True)
    assert 'aria-current="date"><span class="visually-hidden">Monday </span>10<' in html
    assert 'href="/?day=2030-06-11&amp;week=2030-06-10&amp;practitioner=dr-jo-smith"' in html
    assert client.get("/?practitioner=nobody").status_code == 400


def test_the_json_api_is_unchanged(app, client, now):
    _populate(app, 2, ["Dr Ann Lee"])
    slots = client.get("/appointment-slot").json
    assert len(slots) == 2 * len(TIMES)
    assert set(slots[0]) == {
        "appointmentId",
        "appointmentDate",
        "appointmentTime",
        "status",
        "practitionerId",
        "practitionerName",
    }
    assert date.fromisoformat(slots[-1]["appointmentDate"]) == date(2030, 6, 4) + timedelta(1)
