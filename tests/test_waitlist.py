"""The waitlist: joining (page and JSON), its emails, offers of freed times in the order
entries joined, booking an offer, leaving, and the daily run, export and erasure."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta
from email.policy import default as default_policy
from urllib.parse import urlsplit

import pytest

from tests.helpers import csrf_token
from tests.test_schedule import _cli
from webapp import clock, manage_links
from webapp.bookings import replacement_id
from webapp.extensions import services
from webapp.notifications import waitlist_mail, worker
from webapp.store.appointments import PatientDetails

DAY = "2030-06-10"  # a week after the frozen "now" (2030-06-03 10:00 Melbourne)


def join_json(**overrides):
    body = {
        "patientName": "Ada Lovelace",
        "patientEmail": "ada@example.com",
        "fromDate": "2030-06-05",
        "toDate": "2030-06-12",
    }
    body.update(overrides)
    return body


def outbox(tmp_path, kind=""):
    """The messages written to the outbox (of one kind), oldest first."""
    pattern = f"*{kind}*.eml" if kind else "*.eml"
    paths = sorted((tmp_path / "outbox").glob(pattern))
    return [email.message_from_bytes(p.read_bytes(), policy=default_policy) for p in paths]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def tick(monkeypatch, minutes: int):
    moment = datetime(2030, 6, 3, tzinfo=UTC) + timedelta(minutes=minutes)
    monkeypatch.setattr(clock, "utcnow", lambda: moment)


def join(app, monkeypatch, minutes, **overrides):
    """Join through the JSON API at `minutes` after the frozen now."""
    tick(monkeypatch, minutes)
    response = app.test_client().post("/join-waitlist", json=join_json(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def free_a_time(app, add_slot, time="09:00", day=DAY):
    """Book a time and cancel it: its time is offered again (a freed time)."""
    service = services(app)
    slot = add_slot(day, time)
    service.bookings.book(slot, PatientDetails("Someone", "someone@example.com"))
    return service.bookings.cancel_by_staff(slot, "staff@clinic.example")


# -- joining -------------------------------------------------------------------------------


def test_joining_by_json_answers_201_and_sends_one_email_without_typed_text(app, now, tmp_path):
    response = app.test_client().post(
        "/join-waitlist",
        json=join_json(patientName="Ada <b>Evil</b> Text"),
        headers={"Origin": "https://elsewhere.example"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"message", "entryId", "fromDate", "toDate", "practitionerId"}
    assert body["fromDate"] == "2030-06-05" and body["practitionerId"] is None
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    (message,) = outbox(tmp_path, "waitlist-joined")
    assert message["To"] == "ada@example.com"
    text = text_of(message)
    assert "Evil" not in text and "Ada" not in text and "Evil" not in message.as_string()
    assert "5 June 2030" in text or "June" in text
    leave = re.search(r"(http://\S+/waitlist/leave/\S+)", text).group(1)
    assert message["List-Unsubscribe"] == f"<{leave}/one-click>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"fromDate": "2030-06-01"}, "fromDate"),
        ({"toDate": "2030-06-04"}, "toDate"),
        ({"toDate": "2030-08-30"}, "toDate"),
        ({"fromDate": "June 5th"}, "fromDate"),
        ({"toDate": 20300610}, "toDate"),
        ({"patientEmail": "not-an-address"}, "patientEmail"),
        ({"patientName": ""}, "patientName"),
        ({"practitionerId": "nobody-here"}, "practitionerId"),
    ],
)
def test_invalid_joins_are_400_with_the_field(app, now, overrides, field):
    response = app.test_client().post("/join-waitlist", json=join_json(**overrides))
    assert response.status_code == 400
    assert field in response.get_json()["fields"]


def test_a_body_that_is_not_json_is_400_and_the_honeypot_is_refused(app, now):
    client = app.test_client()
    assert client.post("/join-waitlist", data="x").status_code == 400
    assert client.post("/join-waitlist", json=[1]).status_code == 400
    assert client.post("/join-waitlist", json=join_json(website="spam")).status_code == 400


def test_an_address_holds_at_most_its_cap_of_entries(make_app, now):
    app = make_app(WAITLIST_MAX_ENTRIES_PER_EMAIL="2")
    client = app.test_client()
    variants = ["ada@example.com", "ADA@example.com", "ada+x@example.com"]
    codes = [
        client.post("/join-waitlist", json=join_json(patientEmail=v)).status_code for v in variants
    ]
    assert codes == [201, 201, 409]
    refused = client.post("/join-waitlist", json=join_json())
    assert "patientEmail" in refused.get_json()["fields"]


def test_an_ended_entry_frees_its_place(make_app, monkeypatch):
    app = make_app(WAITLIST_MAX_ENTRIES_PER_EMAIL="1")
    tick(monkeypatch, 0)
    client = app.test_client()
    assert client.post("/join-waitlist", json=join_json(toDate="2030-06-05")).status_code == 201
    assert client.post("/join-waitlist", json=join_json()).status_code == 409
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2030, 6, 6, tzinfo=UTC))
    later = join_json(fromDate="2030-06-07", toDate="2030-06-09")
    assert client.post("/join-waitlist", json=later).status_code == 201


def test_joins_count_against_a_rate_limit_per_client(make_app, now):
    app = make_app(BOOKING_RATE_LIMIT="2")
    client = app.test_client()
    codes = [
        client.post("/join-waitlist", json=join_json(patientEmail=f"p{n}@example.com"))
        for n in range(3)
    ]
    assert [c.status_code for c in codes] == [201, 201, 429]
    assert codes[2].headers["Retry-After"]


def test_the_page_joins_with_inline_errors_and_a_thank_you(app, now, tmp_path):
    client = app.test_client()
    assert "Join the waitlist" in client.get("/").text
    page = client.get("/waitlist")
    assert page.status_code == 200
    form = {
        "csrf_token": csrf_token(page.text),
        "patientName": "Ada Lovelace",
        "patientEmail": "ada@example.com",
        "fromDate": "2030-06-09",
        "toDate": "2030-06-08",
    }
    refused = client.post("/waitlist", data=form)
    assert refused.status_code == 400
    assert 'id="toDate-error"' in refused.text
    assert not outbox(tmp_path)
    done = client.post("/waitlist", data={**form, "toDate": "2030-06-12"})
    assert done.status_code == 200
    assert "You are on the waitlist" in done.text
    assert done.headers["Cache-Control"] == "no-store"
    assert len(outbox(tmp_path, "waitlist-joined")) == 1
    assert "Times open now" not in done.text  # nothing is open in these dates


def test_the_thank_you_page_names_times_open_now_in_the_dates(app, now, add_slot):
    add_slot("2030-06-10", "09:00")
    add_slot("2030-06-10", "09:30")
    add_slot("2030-06-11", "14:00")
    add_slot("2030-06-20", "09:00")  # outside the dates
    client = app.test_client()
    form = {
        "csrf_token": csrf_token(client.get("/waitlist").text),
        "patientName": "Ada Lovelace",
        "patientEmail": "ada@example.com",
        "fromDate": "2030-06-09",
        "toDate": "2030-06-12",
    }
    done = client.post("/waitlist", data=form)
    assert done.status_code == 200 and "Times open now in these dates" in done.text
    assert re.findall(r'href="/\?day=(2030-06-\d\d)"', done.text) == ["2030-06-10", "2030-06-11"]
    assert "2 free times" in done.text and "1 free time<" in done.text


# -- offers --------------------------------------------------------------------------------


def test_a_freed_time_is_offered_in_join_order_to_the_first_n(
    make_app, add_slot, monkeypatch, tmp_path
):
    app = make_app(WAITLIST_OFFERS_PER_TIME="2")
    services_ = services(app)
    join(app, monkeypatch, 1, patientEmail="first@example.com")
    join(app, monkeypatch, 2, patientEmail="second@example.com")
    join(app, monkeypatch, 3, patientEmail="third@example.com")
    join(app, monkeypatch, 0, patientEmail="other-days@example.com", fromDate="2030-06-11")
    tick(monkeypatch, 10)
    free_a_time(app, add_slot)
    offers = outbox(tmp_path, "waitlist-offer")
    assert sorted(m["To"] for m in offers) == ["first@example.com", "second@example.com"]
    # The order itself: the notifier's list, in the order entries joined.
    replacement = next(
        s for s in services_.availability.list_open()[0] if s["appointmentDate"] == DAY
    )
    notices = waitlist_mail.offers(services_.settings, services_.store, [replacement])
    assert [n.item["patientEmail"] for n in notices] == [
        "first@example.com",
        "second@example.com",
    ]
    text = text_of(offers[0])
    assert "/waitlist/offer/" in text and "/waitlist/leave/" in text
    assert "Ada" not in text


def test_a_repeated_change_never_offers_twice(app, add_slot, monkeypatch, tmp_path):
    join(app, monkeypatch, 1)
    tick(monkeypatch, 5)
    change = free_a_time(app, add_slot)
    assert len(outbox(tmp_path, "waitlist-offer")) == 1
    slot = services(app).store.appointments.get(
        next(iter(services(app).availability.list_open()[0]))["appointmentId"]
    )
    assert change.time_released
    assert worker.process_change(services(app).settings, None, slot) == 0
    assert len(outbox(tmp_path, "waitlist-offer")) == 1


def test_only_the_chosen_practitioners_times_are_offered(app, add_slot, monkeypatch, tmp_path):
    join(app, monkeypatch, 1, practitionerId="default", patientEmail="default@example.com")
    tick(monkeypatch, 5)
    # The default practitioner's time (no practitionerId on the slot) suits them.
    free_a_time(app, add_slot)
    assert [m["To"] for m in outbox(tmp_path, "waitlist-offer")] == ["default@example.com"]


def test_times_added_by_hand_are_offered(app, monkeypatch, tmp_path):
    join(app, monkeypatch, 1)
    tick(monkeypatch, 5)
    from datetime import date

    services(app).availability.create([date(2030, 6, 6)], ["14:00"])
    (offer,) = outbox(tmp_path, "waitlist-offer")
    assert "14:00" in offer["Subject"]


def offered_id(app, message) -> str:
    """The time an offer email's link books."""
    token = offer_link(message).rsplit("/", 1)[1]
    return manage_links.read_offer_token(services(app).settings, token)[2]


def test_the_old_time_of_a_moved_booking_is_offered(app, add_slot, monkeypatch, tmp_path):
    tick(monkeypatch, 0)
    service = services(app)
    old = add_slot(DAY, "09:00")
    later = add_slot("2030-06-20", "09:00")  # outside the entry's dates: not offered
    record = service.bookings.book(old, PatientDetails("Someone", "someone@example.com"))
    join(app, monkeypatch, 1)
    tick(monkeypatch, 5)
    assert outbox(tmp_path, "waitlist-offer") == []
    service.rescheduling.move(record, later)
    (offer,) = outbox(tmp_path, "waitlist-offer")
    assert offer["To"] == "ada@example.com" and "09:00" in offer["Subject"]
    left = service.store.appointments.get(old)
    assert left["status"] == "RESCHEDULED"
    assert offered_id(app, offer) == replacement_id(left)


def test_a_lifted_closure_offers_its_times(app, monkeypatch, tmp_path):
    tick(monkeypatch, 0)
    _cli(app, "set-hours", "default", "--mon", "09:00-09:30")  # 10 June 09:00, among others
    _cli(app, "close", DAY)
    join(app, monkeypatch, 1)
    tick(monkeypatch, 5)
    (closure,) = services(app).closures.all()
    assert outbox(tmp_path, "waitlist-offer") == []
    assert services(app).closures.lift(closure["id"])["reopened"] == 1
    (offer,) = outbox(tmp_path, "waitlist-offer")
    assert offered_id(app, offer).startswith("20300610-0900")


def test_new_weekly_hours_offer_the_times_the_roll_adds(app, monkeypatch, tmp_path):
    join(app, monkeypatch, 1)
    tick(monkeypatch, 5)
    # The roll creates Mondays' 09:00 up to the horizon; only 10 June is in the dates.
    _cli(app, "set-hours", "default", "--mon", "09:00-09:30")
    (offer,) = outbox(tmp_path, "waitlist-offer")
    assert offered_id(app, offer).startswith("20300610-0900")


def offer_link(message) -> str:
    return re.search(r"http://[^/]+(/waitlist/offer/\S+)", text_of(message)).group(1)


def test_booking_an_offer_books_for_the_entry_and_ends_it(app, add_slot, monkeypatch, tmp_path):
    join(app, monkeypatch, 1)
    join(app, monkeypatch, 2, patientEmail="grace@example.com", patientName="Grace Hopper")
    tick(monkeypatch, 5)
    free_a_time(app, add_slot)
    ada_offer, grace_offer = sorted(outbox(tmp_path, "waitlist-offer"), key=lambda m: m["To"])
    ada = app.test_client()
    page = ada.get(offer_link(ada_offer))
    assert page.status_code == 200 and "Ada Lovelace" in page.text
    booked = ada.post(offer_link(ada_offer), data={"csrf_token": csrf_token(page.text)})
    assert booked.status_code == 303 and "/manage/" in booked.headers["Location"]
    token = offer_link(ada_offer).rsplit("/", 1)[1]
    key, entry_id, appointment_id = manage_links.read_offer_token(services(app).settings, token)
    record = services(app).store.appointments.get(appointment_id)
    assert record["status"] == "PENDING" and record["patientEmail"] == "ada@example.com"
    assert services(app).waitlist.entry(key, entry_id) is None  # the entry ended
    # Grace was offered the same time; it is gone now.
    grace = app.test_client()
    page = grace.get(offer_link(grace_offer))
    assert page.status_code == 409 and "no longer available" in page.text
    # Ada's link no longer books anything.
    assert ada.get(offer_link(ada_offer)).status_code == 404


def test_offer_links_cannot_be_altered(app, now):
    client = app.test_client()
    assert client.get("/waitlist/offer/nonsense").status_code == 404
    assert client.get("/waitlist/leave/nonsense").status_code == 404


# -- leaving -------------------------------------------------------------------------------


def leave_link(message) -> str:
    return re.search(r"http://[^/]+(/waitlist/leave/\S+)", text_of(message)).group(1)


def test_leaving_takes_a_post_and_ends_the_offers(app, add_slot, monkeypatch, tmp_path):
    join(app, monkeypatch, 1)
    (joined,) = outbox(tmp_path, "waitlist-joined")
    client = app.test_client()
    page = client.get(leave_link(joined))
    assert page.status_code == 200 and "Leave the waitlist?" in page.text
    # A GET (a mail scanner) leaves nothing: the entry the link names is still there.
    leave_token = leave_link(joined).rsplit("/", 1)[1]
    key, entry_id = manage_links.read_leave_token(services(app).settings, leave_token)
    assert services(app).waitlist.entry(key, entry_id) is not None
    token = csrf_token(page.text)
    assert client.post(leave_link(joined), data={"csrf_token": token}).status_code == 200
    assert services(app).waitlist.entry(key, entry_id) is None
    assert client.post(leave_link(joined), data={"csrf_token": token}).status_code == 200
    assert "not on this waitlist" in client.get(leave_link(joined)).text
    tick(monkeypatch, 5)
    free_a_time(app, add_slot)
    assert outbox(tmp_path, "waitlist-offer") == []


def test_a_mail_providers_one_click_unsubscribe_leaves_without_a_session(
    app, add_slot, monkeypatch, tmp_path
):
    join(app, monkeypatch, 1)
    (joined,) = outbox(tmp_path, "waitlist-joined")
    one_click = urlsplit(joined["List-Unsubscribe"].strip("<>")).path
    provider = app.test_client()  # no cookies, no CSRF token: as Gmail's POST comes
    # A GET (a scanner, or a client without one-click) only leads to the page's button.
    shown = provider.get(one_click)
    assert shown.status_code == 303 and shown.headers["Location"].endswith(leave_link(joined))
    assert provider.post(one_click, data={"other": "x"}).status_code == 303
    tampered = one_click.replace("/one-click", "A/one-click")
    assert provider.post(tampered, data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert "Leave the waitlist?" in provider.get(leave_link(joined)).text  # still on it
    left = provider.post(one_click, data={"List-Unsubscribe": "One-Click"})
    assert left.status_code == 204
    assert "not on this waitlist" in provider.get(leave_link(joined)).text
    tick(monkeypatch, 5)
    free_a_time(app, add_slot)
    assert outbox(tmp_path, "waitlist-offer") == []


# -- retention, export, erasure ---------------------------------------------------------------


def test_the_daily_run_deletes_ended_entries_only(app, monkeypatch):
    join(app, monkeypatch, 1, toDate="2030-06-05", patientEmail="short@example.com")
    join(app, monkeypatch, 2, patientEmail="long@example.com")
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2030, 6, 7, tzinfo=UTC))
    result = app.test_cli_runner().invoke(args=["purge-patient-data"])
    assert result.exit_code == 0, result.output
    store = services(app).store
    assert store.waitlist.ended(datetime(2030, 6, 30).date()) != []  # the long one remains
    left = store.waitlist.covering(datetime(2030, 6, 8).date(), 28)
    assert [e["patientEmail"] for e in left] == ["long@example.com"]
    assert store.waitlist.covering(datetime(2030, 6, 5).date(), 28) == left


def test_export_and_erasure_include_the_entries(app, monkeypatch, staff_account):
    from tests.test_privacy_requests import api_post, scan

    join(app, monkeypatch, 1, patientEmail="Ada.Q+wait@example.com")
    client = app.test_client()
    exported = api_post(client, "/api/staff/privacy/export", {"email": "ada.q@example.com"})
    (entry,) = exported.get_json()["waitlistEntries"]
    assert entry["fromDate"] == "2030-06-05"
    erased = api_post(
        client, "/api/staff/privacy/erase", {"email": "ada.q@example.com", "confirm": True}
    )
    assert erased.get_json()["erased"]["otherRecords"] == 1
    assert "ada.q" not in scan(services(app).store)


# -- staff, and the stream ---------------------------------------------------------------------


def test_staff_see_the_days_waitlist_in_join_order(app, monkeypatch, staff_client):
    join(app, monkeypatch, 2, patientName="Second Person", patientEmail="second@example.com")
    join(app, monkeypatch, 1, patientName="First Person", patientEmail="first@example.com")
    join(app, monkeypatch, 3, patientName="Later Days", fromDate="2030-06-11")
    page = staff_client.get("/staff/day?day=2030-06-06")
    assert page.status_code == 200
    assert page.text.index("First Person") < page.text.index("Second Person")
    assert "second@example.com" in page.text and "Later Days" not in page.text
    assert "Nobody is waiting" in staff_client.get("/staff/day?day=2030-06-20").text


def test_the_stream_handler_sends_the_join_email_and_offers(lambda_app, monkeypatch, add_slot):
    from tests.notification_helpers import FakeContext, sent_emails, stream_event, stream_record

    tick(monkeypatch, 1)
    client = lambda_app.test_client()
    assert client.post("/join-waitlist", json=join_json()).status_code == 201
    assert sent_emails() == []  # the web request only writes; the stream sends
    store = services(lambda_app).store
    (entry,) = store.waitlist.covering(datetime(2030, 6, 6).date(), 28)
    slot_id = add_slot(DAY, "11:00")
    slot = store.appointments.get(slot_id)
    event = stream_event(
        stream_record("INSERT", None, entry),
        stream_record("INSERT", None, slot),
        stream_record("INSERT", None, slot),  # a repeated record: no second email
    )
    result = worker.handle_stream(event, FakeContext())
    assert result == {"batchItemFailures": []}
    subjects = sorted(str(m["Subject"]) for m in sent_emails())
    assert len(subjects) == 2
    assert "a time is free on" in subjects[0] and "on the waitlist" in subjects[1]


def test_the_stream_handler_offers_a_closed_time_opened_again(lambda_app, monkeypatch, add_slot):
    from tests.notification_helpers import FakeContext, sent_emails, stream_event, stream_record

    tick(monkeypatch, 1)
    assert lambda_app.test_client().post("/join-waitlist", json=join_json()).status_code == 201
    store = services(lambda_app).store
    slot = store.appointments.get(add_slot(DAY, "11:00"))
    closed = {**slot, "status": "REMOVED", "removedBy": "closure#20300610-abcdef"}
    # A closure lifted: the REMOVED item becomes AVAILABLE again.
    result = worker.handle_stream(
        stream_event(stream_record("MODIFY", closed, slot)), FakeContext()
    )
    assert result == {"batchItemFailures": []}
    (offer,) = sent_emails()
    assert offer["To"] == "ada@example.com" and "a time is free on" in str(offer["Subject"])
    assert "11:00" in str(offer["Subject"])


def test_the_stream_handler_sends_the_join_email_for_a_rejoin(lambda_app, monkeypatch):
    from tests.notification_helpers import FakeContext, sent_emails, stream_event, stream_record

    tick(monkeypatch, 1)
    assert lambda_app.test_client().post("/join-waitlist", json=join_json()).status_code == 201
    store = services(lambda_app).store
    (entry,) = store.waitlist.covering(datetime(2030, 6, 6).date(), 28)
    # The place held an ended entry, which the join overwrote (store/waitlist.py).
    ended = {
        **entry,
        "entryId": "an-ended-entry",
        "fromDate": "2030-05-20",
        "toDate": "2030-05-25",
        "slotStart": "2030-05-25T23:59",
    }
    # A change of the same entry (same entryId) is no join: no email.
    same = worker.handle_stream(stream_event(stream_record("MODIFY", entry, entry)), FakeContext())
    assert same == {"batchItemFailures": []}
    assert sent_emails() == []
    rejoin = worker.handle_stream(
        stream_event(stream_record("MODIFY", ended, entry)), FakeContext()
    )
    assert rejoin == {"batchItemFailures": []}
    (message,) = sent_emails()
    assert message["To"] == "ada@example.com" and "on the waitlist" in str(message["Subject"])
