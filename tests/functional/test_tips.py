"""The anonymous tip line as a tipster, the team and an attacker meet it: no cookie, no
address kept, a follow-up code shown once and kept only as a slow hash, the conversation
with the team, and the limits on sending tips and on guessing codes."""

from __future__ import annotations

import re
from datetime import timedelta

from argon2 import PasswordHasher
from flask import Flask
from markupsafe import escape
from sqlalchemy import select

from btam.intake.models import TipAccess
from btam.intake.services.tips import WRONG_CODE
from btam.intake.terms import TipCategory
from tests.support.intake import (
    CODE,
    browser_of,
    latest_report,
    page,
    report_count,
    row_counts,
    send_tip,
    stores_contain,
    tip_form,
    upload,
    visitor,
)
from tests.support.personas import World
from tests.support.stores import age_rate_limits, audit_entries

ADDRESS = "203.0.113.77"
CODE_FORMAT = re.compile(r"[A-Z2-9]{4}(?:-[A-Z2-9]{4}){5}")


def no_cookie(response) -> None:  # type: ignore[no-untyped-def]
    assert response.headers.getlist("Set-Cookie") == [], response.headers.getlist("Set-Cookie")


def test_the_tip_page_says_it_is_not_for_emergencies_and_offers_every_category(
    app: Flask, world: World
) -> None:
    response = visitor(app).get("/tip")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "This is not for emergencies." in html and "call 911" in html
    for category in TipCategory:
        assert f'value="{category.value}"' in html and category.label in html
    assert "North High School" in html and "South Middle School" in html
    assert 'name="csrf_token"' not in html
    follow_up = visitor(app).get("/tip/follow-up").get_data(as_text=True)
    assert "Not for emergencies" in follow_up and "call 911" in follow_up


def test_the_tip_line_sets_no_cookie_on_any_page_or_answer(app: Flask, world: World) -> None:
    tipster = visitor(app, ADDRESS)
    for url in ("/tip", "/tip/follow-up"):
        no_cookie(tipster.get(url))
    refused = tipster.client.post("/tip", data=tip_form(world, what=""))
    assert refused.status_code == 400
    no_cookie(refused)
    sent = tipster.client.post("/tip", data=tip_form(world))
    assert sent.status_code == 200
    no_cookie(sent)
    code = CODE.search(sent.get_data(as_text=True))
    assert code
    for data in ({"code": code.group(1)}, {"code": "WRONG-CODE"}, {"code": ""}):
        no_cookie(tipster.client.post("/tip/follow-up", data=data))
    no_cookie(tipster.client.post("/tip/follow-up", data={"code": code.group(1), "message": "hi"}))
    assert tipster.client.get_cookie("btam") is None


def test_a_tip_keeps_no_client_address_and_is_audited_as_anonymous(
    app: Flask, world: World
) -> None:
    tipster = visitor(app, ADDRESS)
    code = send_tip(tipster, world)
    report_id = latest_report(app).id
    tipster.client.post("/tip/follow-up", data={"code": code})
    tipster.client.post("/tip/follow-up", data={"code": code, "message": "It was a real knife."})
    tipster.client.post("/tip/follow-up", data={"code": "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA"})
    actions = (
        "intake:tip:received",
        "intake:tip:followed_up",
        "intake:tip_message:added",
        "intake:tip_code:refused",
    )
    for action in actions:
        [entry] = audit_entries(app, action)
        assert entry.client_address is None and entry.actor_role == "anonymous", action
        assert entry.actor_id is None
    assert audit_entries(app, "intake:tip:received")[0].object_id == str(report_id)
    assert audit_entries(app, "intake:tip:received")[0].purpose == "weapon"
    assert stores_contain(app, ADDRESS) == []
    row = latest_report(app)
    assert row.reporter_id is None and row.channel.value == "anonymous_tip"


def test_the_follow_up_code_has_eighty_bits_is_shown_once_and_kept_as_a_slow_hash(
    app: Flask, world: World
) -> None:
    tipster = visitor(app)
    codes = [send_tip(tipster, world) for _ in range(3)]
    assert len(set(codes)) == 3
    for code in codes:
        assert CODE_FORMAT.fullmatch(code), code
        raw = code.replace("-", "")
        lookup, secret = raw[:8], raw[8:]
        assert len(secret) == 16 and re.fullmatch(r"[A-Z2-7]{16}", secret)  # 16 x 5 = 80 bits
        for needle in (code, raw, secret, secret[:8], secret[8:]):
            assert stores_contain(app, needle) == [], needle
        with app.extensions["btam"].stores.case_sessions() as db:
            access = db.execute(select(TipAccess).where(TipAccess.lookup == lookup)).scalar_one()
        assert access.secret_hash.startswith("$argon2id$")
        assert PasswordHasher().verify(access.secret_hash, secret)
    # The receipt is not kept by the browser, and the follow-up page never repeats the code.
    receipt = tipster.client.post("/tip", data=tip_form(world))
    assert receipt.headers["Cache-Control"] == "no-store"
    opened = tipster.client.post("/tip/follow-up", data={"code": codes[0]})
    assert opened.status_code == 200
    assert "Waiting for triage" in opened.get_data(as_text=True)
    assert not CODE.search(opened.get_data(as_text=True))


def test_the_tipster_and_the_team_talk_through_the_code_and_the_tipster_sees_status_only(
    app: Flask, world: World
) -> None:
    tipster = visitor(app, ADDRESS)
    code = send_tip(tipster, world, what="Ryan said he has a gun in his car.")
    report_id = latest_report(app).id
    # Typed by hand: lower case, spaces instead of dashes.
    typed = code.lower().replace("-", " ")
    opened = tipster.client.post("/tip/follow-up", data={"code": typed})
    html = opened.get_data(as_text=True)
    assert opened.status_code == 200 and "Status: Waiting for triage" in html
    assert "No messages yet." in html and "Ryan" not in html
    sent = tipster.client.post(
        "/tip/follow-up", data={"code": code, "message": "It is a black pistol, in the glovebox."}
    )
    assert "black pistol" in sent.get_data(as_text=True)

    _, team_view = page(app, world, "member_gus", f"/triage/{report_id}")
    assert "Anonymous" in team_view and "black pistol" in team_view
    reply = browser_of(app, world, "member_gus").submit(
        f"/triage/{report_id}",
        {"body": "Thank you. Which parking lot, and what colour is the car?"},
        action=f"/triage/{report_id}/messages",
    )
    assert reply.status_code == 302
    [entry] = [e for e in audit_entries(app, "intake:tip_message:added") if e.actor_id]
    assert entry.actor_id == world.member_gus.user_id and entry.purpose == "from the team"
    # Another school's team cannot write to this tipster.
    dee = browser_of(app, world, "outsider_dee")
    refused = dee.submit("/triage/", {"body": "Hello?"}, action=f"/triage/{report_id}/messages")
    assert refused.status_code == 404

    read = tipster.client.post("/tip/follow-up", data={"code": code})
    html = read.get_data(as_text=True)
    assert "Which parking lot" in html and "The safety team" in html and "Hello?" not in html
    assert html.index("black pistol") < html.index("Which parking lot")
    assert "Gus" not in html  # the team member's name stays with the team

    decided = browser_of(app, world, "lead_ben").submit(
        f"/triage/{report_id}",
        {"outcome": "no_threat", "no_threat_action": "information_only", "reason": "Toy gun."},
        action=f"/triage/{report_id}/decide",
    )
    assert decided.status_code == 302
    html = tipster.client.post("/tip/follow-up", data={"code": code}).get_data(as_text=True)
    assert "Status: Triaged" in html and "No threat" not in html and "Toy gun" not in html


def test_a_wrong_code_gets_one_generic_message_whatever_was_wrong(app: Flask, world: World) -> None:
    tipster = visitor(app, ADDRESS)
    code = send_tip(tipster, world)
    raw = code.replace("-", "")
    wrong_secret = raw[:8] + ("A" if raw[8] != "A" else "B") + raw[9:]
    wrong_lookup = ("Z" if raw[0] != "Z" else "Y") + raw[1:]
    before = row_counts(app)
    pages = []
    for attempt in (wrong_secret, wrong_lookup, raw[:-1], "not a code at all", "Ω" * 24):
        response = tipster.client.post("/tip/follow-up", data={"code": attempt})
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert WRONG_CODE.replace("'", "&#39;") in html or WRONG_CODE in html
        assert "Status:" not in html
        pages.append(html.replace(f'value="{escape(attempt)}"', 'value="CODE"'))
    # The pages differ in nothing but the echoed code: nothing tells which part was wrong.
    assert len(set(pages)) == 1
    assert row_counts(app) == before
    assert len(audit_entries(app, "intake:tip_code:refused")) == 5


def test_guessing_codes_is_throttled_per_client_and_per_lookup(app: Flask, world: World) -> None:
    code = send_tip(visitor(app), world)
    raw = code.replace("-", "")
    # Eleven wrong guesses from one address: the eleventh is refused even with the right code.
    guesser = visitor(app, "198.51.100.66")
    for n in range(10):
        guess = f"{n:02d}".replace("0", "Q").replace("1", "R") + "X" * 22
        assert guesser.client.post("/tip/follow-up", data={"code": guess}).status_code == 400
    throttled = guesser.client.post("/tip/follow-up", data={"code": code})
    assert throttled.status_code == 429
    assert "Too many wrong codes" in throttled.get_data(as_text=True)
    # Others are not locked out by that address.
    assert (
        visitor(app, "192.0.2.200").client.post("/tip/follow-up", data={"code": code}).status_code
        == 200
    )
    # Guessing the secret of one tip from many addresses locks that tip's lookup part.
    wrong = raw[:8] + "A" * 16 if raw[8:] != "A" * 16 else raw[:8] + "B" * 16
    for n in range(10):
        response = visitor(app, f"198.51.100.{n + 1}").client.post(
            "/tip/follow-up", data={"code": wrong}
        )
        assert response.status_code == 400
    locked = visitor(app, "192.0.2.201").client.post("/tip/follow-up", data={"code": code})
    assert locked.status_code == 429
    # A message sent with a throttled code is not stored.
    before = row_counts(app)
    refused = visitor(app, "192.0.2.202").client.post(
        "/tip/follow-up", data={"code": code, "message": "Are you there?"}
    )
    assert refused.status_code == 429 and row_counts(app) == before
    # Fifteen minutes later the code opens the tip again, for the guesser's address too.
    age_rate_limits(app, timedelta(minutes=16))
    assert guesser.client.post("/tip/follow-up", data={"code": code}).status_code == 200


def test_the_sixth_tip_within_the_hour_from_one_address_is_refused_and_not_stored(
    app: Flask, world: World
) -> None:
    tipster = visitor(app, ADDRESS)
    for _ in range(5):
        send_tip(tipster, world)
    before, entries = row_counts(app), len(audit_entries(app, "intake:tip:received"))
    refused = tipster.client.post("/tip", data=tip_form(world, what="The sixth tip."))
    assert refused.status_code == 429
    assert "Too many tips" in refused.get_data(as_text=True) and "911" in refused.get_data(
        as_text=True
    )
    no_cookie(refused)
    assert row_counts(app) == before and report_count(app) == 5
    assert len(audit_entries(app, "intake:tip:received")) == entries
    assert stores_contain(app, "The sixth tip.") == []
    # Another address is not limited by the first one.
    send_tip(visitor(app, "192.0.2.99"), world)
    assert report_count(app) == 6
    # An hour later the first address may send again.
    age_rate_limits(app, timedelta(hours=1, minutes=1))
    send_tip(tipster, world)
    assert report_count(app) == 7


def test_a_refused_tip_keeps_what_was_typed_and_stores_nothing(app: Flask, world: World) -> None:
    tipster = visitor(app, ADDRESS)
    before = row_counts(app)
    cases = [
        ({"what": "   "}, "This field is required"),
        ({"category": "arson"}, "Not a valid choice"),
        ({"category": ""}, "Not a valid choice"),
        ({"school_id": "999"}, "Not a valid choice"),
        ({"where": "x" * 501}, "Field cannot be longer than 500 characters"),
        ({"what": "Look\x00here"}, "Remove the control characters"),
        (
            {"file": upload(b"<html><script>alert(1)</script>", "x.png", "image/png")},
            "does not match its type",
        ),
        ({"file": upload(b"MZ", "x.exe", "application/octet-stream")}, "Attach a PDF"),
    ]
    for change, message in cases:
        data = tip_form(world, who="<b>Ryan</b> & friends", **change)
        response = tipster.client.post("/tip", data=data)
        assert response.status_code == 400, change
        html = response.get_data(as_text=True)
        assert message in html, (change, message)
        assert "&lt;b&gt;Ryan&lt;/b&gt; &amp; friends" in html and "<b>Ryan</b>" not in html
        if "where" not in change:
            assert 'value="Gym locker room"' in html
    assert row_counts(app) == before
    assert audit_entries(app, "intake:tip:received") == []


def test_a_tip_with_a_two_mib_photo_is_accepted_as_the_form_promises(
    app: Flask, world: World
) -> None:
    photo = b"\xff\xd8\xff" + b"\x00" * (2 * 1024 * 1024)
    response = visitor(app).client.post(
        "/tip", data=tip_form(world, file=upload(photo, "photo.jpg", "image/jpeg"))
    )
    assert response.status_code == 200


def test_a_tip_with_a_screenshot_reaches_the_covering_team_only(app: Flask, world: World) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    tipster = visitor(app)
    send_tip(tipster, world, school="SMS", file=upload(png, "snap.png", "image/png"))
    report_id = latest_report(app).id
    assert page(app, world, "lead_ben", f"/triage/{report_id}")[0] == 404
    status, html = page(app, world, "outsider_dee", f"/triage/{report_id}")
    assert status == 200 and "snap.png" in html and "Anonymous" in html
    assert f"/triage/{report_id}" not in page(app, world, "lead_ben", "/triage/")[1]
    [denied] = [
        e for e in audit_entries(app, "access:record:denied") if e.object_id == str(report_id)
    ]
    assert denied.actor_id == world.lead_ben.user_id and denied.object_type == "report"
