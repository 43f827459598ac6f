"""Rescheduling and the patient's JSON self-service: moves, old links, emails, errors."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email.policy import default as default_policy

import pytest
from icalendar import Calendar

from tests.helpers import booking_json, csrf_token
from tests.test_openapi import assert_conforms
from webapp import clock, manage_links
from webapp.bookings import replacement_id
from webapp.extensions import services
from webapp.notifications.decide import decide


def token_of(manage_url: str) -> str:
    return manage_url.rsplit("/", 1)[1]


@pytest.fixture
def ticking(monkeypatch):
    """Like `now`, but each reading of the clock is a second later (emails sort in order)."""
    seconds = iter(range(1_000_000))
    base = datetime(2030, 6, 3, 0, 0, tzinfo=UTC).timestamp()
    monkeypatch.setattr(
        clock, "utcnow", lambda: datetime.fromtimestamp(base + next(seconds), tz=UTC)
    )


def named(app, token_or_path: str) -> tuple[str, str]:
    """(appointmentId, requestedAt) a link names (tokens carry their issue time)."""
    token = token_or_path.rstrip("/").split("/manage/")[-1].split("/")[0]
    return manage_links.read_token(services(app).settings, token)


def book(client, slot: str, email_address: str = "ada@example.com") -> str:
    response = client.post("/book-appointment", json=booking_json(slot, patientEmail=email_address))
    assert response.status_code == 200, response.json
    return token_of(response.json["manageUrl"])


def outbox(tmp_path) -> list[tuple[str, email.message.EmailMessage]]:
    """(kind-and-id part of the file name, message) of every email written, in order."""
    folder = tmp_path / "outbox"
    if not folder.exists():
        return []
    return [
        (
            path.stem.split("-", 1)[1],
            email.message_from_bytes(path.read_bytes(), policy=default_policy),
        )
        for path in sorted(folder.glob("*.eml"))
    ]


def calendar_event(message):
    [attachment] = [part for part in message.iter_attachments() if part.get_filename()]
    calendar = Calendar.from_ical(attachment.get_content())
    [event] = calendar.events
    return calendar, event


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


# -- the JSON self-service --------------------------------------------------------------------


def test_read_and_move_through_the_json_api(app, client, now, add_slot, store, tmp_path):
    first = add_slot("2030-06-04", "09:00")
    second = add_slot("2030-06-05", "10:00")
    token = book(client, first)

    read = client.get(f"/my-appointment/{token}")
    assert read.status_code == 200
    assert read.headers["Cache-Control"] == "no-store"
    assert_conforms("GET", "/my-appointment/{token}", read)
    assert read.json["appointment"] == {
        "appointmentId": first,
        "appointmentDate": "2030-06-04",
        "appointmentTime": "09:00",
        "status": "PENDING",
        "moves": [],
        "canCancel": True,
        "canReschedule": True,
    }
    assert "patientName" not in read.text and "ada@example.com" not in read.text

    moved = client.post(f"/my-appointment/{token}/reschedule", json={"appointmentId": second})
    assert moved.status_code == 200, moved.json
    assert_conforms("POST", "/my-appointment/{token}/reschedule", moved)
    assert moved.json["appointment"]["appointmentId"] == second
    assert moved.json["appointment"]["status"] == "PENDING"
    assert moved.json["appointment"]["moves"] == [
        {"from": "2030-06-04T09:00", "to": "2030-06-05T10:00", "at": "2030-06-03T00:00:00Z"}
    ]
    new_token = token_of(moved.json["manageUrl"])
    assert new_token != token

    # The booking lives on the new item, with its identity and history ...
    old, new = store.appointments.get(first), store.appointments.get(second)
    assert new["patientEmail"] == "ada@example.com" and new["notes"] == "First visit"
    assert new["requestedAt"] == old["requestedAt"] and new["bookingRef"] == first
    assert new["rescheduledFrom"] == first
    # ... the old item is a record pointing at it, and its time is offered again.
    assert old["status"] == "RESCHEDULED" and old["rescheduledTo"] == second
    assert [s["appointmentId"] for s in client.get("/appointment-slot").json] == [
        replacement_id(old)
    ]

    # The old token keeps working: it answers with the booking as it is now.
    again = client.get(f"/my-appointment/{token}")
    assert again.json["appointment"]["appointmentId"] == second
    assert named(app, again.json["manageUrl"]) == named(app, new_token)

    # One email for the move, none of the "request received" kind for the new time.
    kinds = [name for name, _ in outbox(tmp_path)]
    assert kinds == [f"request-received-{first}", f"rescheduled-{second}"]
    _, message = outbox(tmp_path)[-1]
    assert message["To"] == "ada@example.com"
    assert "moved to Wednesday 5 June 2030 at 10:00" in message["Subject"]
    text = text_of(message)
    assert "from Tuesday 4 June 2030 at 09:00" in text
    [link] = re.findall(r"https?://\S+/manage/\S+", text)
    assert named(app, link) == named(app, new_token)  # the link to the new time
    assert not list(message.iter_attachments())  # never confirmed: nothing in a calendar


def test_moving_a_confirmed_appointment(app, client, ticking, add_slot, store, tmp_path):
    slots = [add_slot("2030-06-04", time) for time in ("09:00", "09:30", "10:00")]
    token = book(client, slots[0])
    bookings = services(app).bookings
    bookings.accept(slots[0], "staff@clinic.example")
    assert client.get(f"/my-appointment/{token}").json["appointment"]["status"] == "ACCEPTED"

    for target in slots[1:]:
        moved = client.post(f"/my-appointment/{token}/reschedule", json={"appointmentId": target})
        assert moved.status_code == 200 and moved.json["appointment"]["status"] == "PENDING"
    bookings.accept(slots[2], "staff@clinic.example")
    bookings.cancel_by_staff(slots[2], "staff@clinic.example")

    # The old link still finds the booking after two moves.
    current = client.get(f"/my-appointment/{token}").json["appointment"]
    assert current["appointmentId"] == slots[2] and current["status"] == "CANCELLED"
    assert [m["to"] for m in current["moves"]] == ["2030-06-04T09:30", "2030-06-04T10:00"]

    emails = outbox(tmp_path)
    assert [name for name, _ in emails] == [
        f"request-received-{slots[0]}",
        f"accepted-{slots[0]}",
        f"rescheduled-{slots[1]}",
        f"rescheduled-{slots[2]}",
        f"accepted-{slots[2]}",
        f"cancelled-{slots[2]}",
    ]
    # One calendar event throughout: the same UID, each version a higher SEQUENCE.
    events = [calendar_event(message) for _, message in emails[1:]]
    uids = {str(event["UID"]) for _, event in events}
    assert len(uids) == 1 and uids.pop().startswith(f"{slots[0]}-")
    sequences = [int(event["SEQUENCE"]) for _, event in events]
    assert sequences == sorted(set(sequences))
    statuses = [str(event["STATUS"]) for _, event in events]
    assert statuses == ["CONFIRMED", "TENTATIVE", "TENTATIVE", "CONFIRMED", "CANCELLED"]
    assert str(events[2][1]["DTSTART"].dt.time()) == "10:00:00"
    assert events[-1][0]["METHOD"] == "CANCEL"


def test_a_taken_time_is_a_conflict_and_the_booking_is_untouched(app, client, now, add_slot, store):
    mine, theirs = add_slot("2030-06-04", "09:00"), add_slot("2030-06-04", "09:30")
    token = book(client, mine)
    book(client, theirs, "grace@example.com")
    before = store.appointments.get(mine)

    response = client.post(f"/my-appointment/{token}/reschedule", json={"appointmentId": theirs})
    assert response.status_code == 409
    assert_conforms("POST", "/my-appointment/{token}/reschedule", response)
    assert response.json["error"] == "This appointment slot is no longer available."
    assert store.appointments.get(mine) == before
    assert store.appointments.get(theirs)["patientEmail"] == "grace@example.com"


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({}, 400, "appointmentId"),
        ({"appointmentId": 7}, 400, "appointmentId"),
        ({"appointmentId": "x" * 65}, 400, "appointmentId"),
        ({"appointmentId": "20300604-0900"}, 400, "appointmentId"),  # its own time
        ({"appointmentId": "20990101-0900"}, 404, None),
        ([], 400, None),
    ],
)
def test_bad_reschedule_requests(app, client, now, add_slot, store, body, status, field):
    slot = add_slot("2030-06-04", "09:00")
    token = book(client, slot)
    before = store.appointments.get(slot)
    response = client.post(f"/my-appointment/{token}/reschedule", json=body)
    assert response.status_code == status
    assert_conforms("POST", "/my-appointment/{token}/reschedule", response)
    if field:
        assert list(response.json["fields"]) == [field]
    assert store.appointments.get(slot) == before


def test_unknown_or_altered_tokens_are_404(app, client, now, add_slot):
    token = book(client, add_slot("2030-06-04", "09:00"))
    for bad in ("nonsense", token[:-2] + "xx", "x" * 600):
        for response in (
            client.get(f"/my-appointment/{bad}"),
            client.post(f"/my-appointment/{bad}/cancel", json={}),
            client.post(f"/my-appointment/{bad}/reschedule", json={"appointmentId": "a"}),
        ):
            assert response.status_code == 404
            assert response.json["fields"] == {}
            assert response.headers["Cache-Control"] == "no-store"


def test_cancel_through_the_json_api(app, client, now, add_slot, store):
    slot = add_slot("2030-06-04", "09:00")
    token = book(client, slot)
    assert client.post(f"/my-appointment/{token}/cancel", data="{").status_code == 400
    response = client.post(f"/my-appointment/{token}/cancel", json={})
    assert response.status_code == 200
    assert_conforms("POST", "/my-appointment/{token}/cancel", response)
    assert response.json["appointment"]["status"] == "CANCELLED"
    assert response.json["appointment"]["cancelledBy"] == "patient"
    assert response.json["appointment"]["canReschedule"] is False
    repeat = client.post(f"/my-appointment/{token}/cancel", json={})
    assert repeat.status_code == 200 and repeat.json["message"] == "Already cancelled."
    assert len(client.get("/appointment-slot").json) == 1  # offered again, once
    moved = client.post(f"/my-appointment/{token}/reschedule", json={"appointmentId": "x"})
    assert moved.status_code == 409 and moved.json["status"] == "CANCELLED"


def test_too_late_to_move_or_cancel(app, client, now, add_slot, store, monkeypatch):
    slot = add_slot("2030-06-03", "11:00")
    earlier_today = add_slot("2030-06-03", "10:30")
    later = add_slot("2030-06-05", "09:00")
    token = book(client, slot)
    # 10:45 in Melbourne: the 10:30 slot has started, the booking has not.
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2030, 6, 3, 0, 45, tzinfo=UTC))
    started = client.post(
        f"/my-appointment/{token}/reschedule", json={"appointmentId": earlier_today}
    )
    assert started.status_code == 409
    assert started.json["error"] == "This appointment slot has already started."
    # 11:15: the booking itself has started.
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2030, 6, 3, 1, 15, tzinfo=UTC))
    for response in (
        client.post(f"/my-appointment/{token}/reschedule", json={"appointmentId": later}),
        client.post(f"/my-appointment/{token}/cancel", json={}),
    ):
        assert response.status_code == 409
        assert "already started" in response.json["error"]
    assert store.appointments.get(slot)["status"] == "PENDING"
    assert store.appointments.get(later)["status"] == "AVAILABLE"


def test_cors_and_rate_limit(make_app, now, add_slot):
    app = make_app(BOOKING_RATE_LIMIT="2", CORS_ALLOWED_ORIGINS="https://partner.example")
    client = app.test_client()
    store = services(app).store
    for time in ("09:00", "09:30", "10:00"):
        store.appointments.put_slot(f"20300604-{time.replace(':', '')}", "2030-06-04", time, "t")
    token = book(client, "20300604-0900")  # one attempt
    preflight = client.options(
        f"/my-appointment/{token}/reschedule",
        headers={
            "Origin": "https://partner.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://partner.example"
    moved = client.post(
        f"/my-appointment/{token}/reschedule",
        json={"appointmentId": "20300604-0930"},
        headers={"Origin": "https://partner.example"},
    )
    assert moved.status_code == 200
    assert moved.headers["Access-Control-Allow-Origin"] == "https://partner.example"
    limited = client.post(
        f"/my-appointment/{token}/reschedule", json={"appointmentId": "20300604-1000"}
    )
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert_conforms("POST", "/my-appointment/{token}/reschedule", limited)
    assert store.appointments.get("20300604-1000")["status"] == "AVAILABLE"


def test_release_refused_gives_the_new_time_back(app, client, ticking, add_slot, store, tmp_path):
    """Staff decline between the claim and the release: the move is undone."""
    mine, target = add_slot("2030-06-04", "09:00"), add_slot("2030-06-04", "09:30")
    token = book(client, mine)
    moves = store.moves
    real_release = moves.release

    def staff_decline_first(*args, **kwargs):
        assert store.appointments.get(target)["status"] == "PENDING"  # claimed
        services(app).bookings.decline(mine, "staff@clinic.example", "Doctor away")
        return real_release(*args, **kwargs)

    moves.release = staff_decline_first
    try:
        response = client.post(
            f"/my-appointment/{token}/reschedule", json={"appointmentId": target}
        )
    finally:
        del moves.release
    assert response.status_code == 409 and response.json["status"] == "DECLINED"
    assert store.appointments.get(mine)["status"] == "DECLINED"
    given_back = store.appointments.get(target)
    assert given_back["status"] == "AVAILABLE"
    assert not {"patientEmail", "requestedAt", "emailKey", "moves"} & set(given_back)
    listed = {s["appointmentId"] for s in client.get("/appointment-slot").json}
    assert listed == {target, replacement_id(store.appointments.get(mine))}
    assert [name.split("-")[0] for name, _ in outbox(tmp_path)] == ["request", "declined"]


# -- the pages --------------------------------------------------------------------------------


def test_change_time_through_the_manage_page(app, client, now, add_slot, store):
    mine = add_slot("2030-06-04", "09:00")
    target = add_slot("2030-06-05", "14:00")
    token = book(client, mine)
    manage = client.get(f"/manage/{token}")
    assert f'href="/manage/{token}/reschedule"' in manage.text

    listing = client.get(f"/manage/{token}/reschedule")
    assert listing.status_code == 200 and listing.headers["Cache-Control"] == "no-store"
    confirm_path = f"/manage/{token}/reschedule/{target}"
    assert f'href="{confirm_path}"' in listing.text
    assert 'aria-label="Move to 14:00 on Wednesday 5 June"' in listing.text

    confirm = client.get(confirm_path)
    assert confirm.status_code == 200
    assert store.appointments.get(target)["status"] == "AVAILABLE"  # a GET changes nothing
    assert client.post(confirm_path).status_code == 400  # no CSRF token
    done = client.post(confirm_path, data={"csrf_token": csrf_token(confirm.text)})
    assert done.status_code == 303
    new_path = done.headers["Location"]
    page = client.get(new_path)
    assert "Your appointment has been moved" in page.text
    assert "Wednesday 5 June 2030" in page.text and "Moved from Tuesday 4 June 2030" in page.text
    assert store.appointments.get(target)["patientEmail"] == "ada@example.com"
    # The old link redirects to the new one.
    old = client.get(f"/manage/{token}")
    assert old.status_code == 303 and named(app, old.headers["Location"]) == named(app, new_path)
    cancel = client.get(f"/manage/{token}/cancel").headers["Location"]
    assert cancel.endswith("/cancel") and named(app, cancel) == named(app, new_path)


def test_manage_page_says_when_the_chosen_time_was_taken(app, client, now, add_slot, store):
    mine, target = add_slot("2030-06-04", "09:00"), add_slot("2030-06-04", "09:30")
    token = book(client, mine)
    confirm_path = f"/manage/{token}/reschedule/{target}"
    confirm = client.get(confirm_path)
    book(app.test_client(), target, "grace@example.com")
    response = client.post(confirm_path, data={"csrf_token": csrf_token(confirm.text)})
    assert response.status_code == 409
    assert "was taken a moment ago" in response.text
    assert store.appointments.get(mine)["status"] == "PENDING"
    assert client.get(f"/manage/{token}/reschedule/nonexistent-id").status_code == 404


def test_staff_see_the_history(app, client, staff_client, now, add_slot):
    mine, target = add_slot("2030-06-04", "09:00"), add_slot("2030-06-05", "10:00")
    token = book(client, mine)
    client.post(f"/my-appointment/{token}/reschedule", json={"appointmentId": target})
    page = staff_client.get(f"/staff/appointments/{target}")
    assert "Rescheduled" in page.text and "Tuesday 4 June 2030, 09:00" in page.text
    old_page = staff_client.get(f"/staff/appointments/{mine}")
    assert "Moved to" in old_page.text and "Wednesday 5 June 2030, 10:00" in old_page.text
    assert "Time offered again" in old_page.text
    listed = staff_client.get("/staff/?status=PENDING").text
    assert target in listed and f'/staff/appointments/{mine}"' not in listed


def test_a_moved_booking_declined_withdraws_its_calendar_event():
    moved = {
        "appointmentId": "b",
        "appointmentDate": "2030-06-04",
        "appointmentTime": "10:00",
        "slotStart": "2030-06-04T10:00",
        "status": "PENDING",
        "patientEmail": "ada@example.com",
        "requestedAt": "t0",
        "inCalendar": True,
    }
    [notice] = decide(moved, {**moved, "status": "DECLINED"})
    assert notice.withdraws_event
    assert decide({**moved, "status": "AVAILABLE"}, {**moved, "rescheduledFrom": "a"}) == []


def test_old_link_after_a_move_never_opens_someone_elses_booking(app, client, now, add_slot):
    mine, target = add_slot("2030-06-04", "09:00"), add_slot("2030-06-05", "10:00")
    token = book(client, mine)
    client.post(f"/my-appointment/{token}/reschedule", json={"appointmentId": target})
    settings = services(app).settings
    # A link forged for the new item with another request time does not match.
    forged = manage_links.make_token(
        settings, {"appointmentId": target, "requestedAt": "2030-06-02T00:00:00Z"}
    )
    assert client.get(f"/my-appointment/{forged}").status_code == 404
