"""Staff reports at /reports/new as a teacher sends them: every channel, the people matched
to those already known, files, what the reporter sees afterwards, the confidential
reporter, and the imminent-danger path with its alert and immediate actions."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from btam.audit.models import AuditEntry
from btam.intake.models import ReportAction, ReportAttachment, ReportMention
from btam.intake.services.reports import STAFF_CHANNELS
from btam.intake.terms import Channel
from btam.people.models import Person
from btam.people.terms import Part
from tests.support.intake import (
    ALERT,
    PDF,
    browser_of,
    latest_report,
    page,
    person_fields,
    report_form,
    report_row,
    row_counts,
    seed_report,
    student,
    upload,
)
from tests.support.personas import World
from tests.support.stores import audit_entries
from tests.support.web import csrf_token

MIB = 1024 * 1024
TEAM = ("lead_ben", "member_gus", "officer_hal")


def submit(app: Flask, world: World, who: str, data: dict[str, object]):  # type: ignore[no-untyped-def]
    return browser_of(app, world, who).submit("/reports/new", data)


# --------------------------------------------------------------------------- the staff report


def test_a_report_can_come_through_every_staff_channel_and_reaches_the_team(
    app: Flask, world: World
) -> None:
    ids = []
    for channel in STAFF_CHANNELS:
        response = submit(app, world, "teacher_cam", report_form(world, channel=channel.value))
        assert response.status_code == 200, response.get_data(as_text=True)
        html = response.get_data(as_text=True)
        assert "Report sent" in html and "Call 911 now" not in html
        ids.append(latest_report(app).id)
    assert len(ids) == len(STAFF_CHANNELS) == 7
    _, queue = page(app, world, "lead_ben", "/triage/")
    for report_id, channel in zip(ids, STAFF_CHANNELS, strict=True):
        assert f"/triage/{report_id}" in queue
        row = report_row(app, report_id)
        assert row.channel is channel and row.reporter_id == world.teacher_cam.user_id
    assert {e.purpose for e in audit_entries(app, "intake:report:submitted")} == {
        c.value for c in STAFF_CHANNELS
    }
    # The tip line is the only way in for an anonymous tip.
    before = row_counts(app)
    refused = submit(app, world, "teacher_cam", report_form(world, channel="anonymous_tip"))
    assert refused.status_code == 400 and "Not a valid choice" in refused.get_data(as_text=True)
    assert row_counts(app) == before


def decide(app: Flask, world: World, who: str, report_id: int, data: dict[str, object]):  # type: ignore[no-untyped-def]
    return browser_of(app, world, who).submit(
        f"/triage/{report_id}", data, action=f"/triage/{report_id}/decide"
    )


NO_THREAT = {"outcome": "no_threat", "no_threat_action": "information_only", "reason": "Checked."}


def test_people_are_kept_as_typed_and_linked_by_the_team_at_triage(
    app: Flask, world: World
) -> None:
    first = report_form(
        world,
        **person_fields(
            0,
            given_name="Jordan",
            family_name="Rivera",
            date_of_birth="2010-03-14",
            student_number="S-1001",
        ),
        **person_fields(1, part="target", given_name="Maya", family_name="Chen"),
    )
    assert submit(app, world, "teacher_cam", first).status_code == 200
    # The same student typed differently, by id; then by name and birth date without an id.
    by_number = report_form(
        world,
        **person_fields(0, given_name="  JORDAN ", family_name="rivera", student_number="s-1001"),
    )
    by_name = report_form(
        world,
        **person_fields(0, given_name="jordan", family_name="RIVERA", date_of_birth="2010-03-14"),
    )
    other = report_form(
        world,
        **person_fields(0, given_name="Jordan", family_name="Rivera", student_number="S-1002"),
    )
    for data in (by_number, by_name, other):
        assert submit(app, world, "member_gus", data).status_code == 200
    # Nobody was looked up or created: the people are kept as typed, encrypted.
    counts = row_counts(app)
    assert (counts["people"], counts["report_people"], counts["report_mentions"]) == (0, 0, 5)
    with app.extensions["btam"].stores.case_sessions() as db:
        mentions = db.execute(select(ReportMention).order_by(ReportMention.id)).scalars().all()
        assert [(m.full_name, m.student_number, m.part) for m in mentions] == [
            ("Jordan Rivera", "S-1001", Part.SUBJECT),
            ("Maya Chen", None, Part.TARGET),
            ("JORDAN rivera", "s-1001", Part.SUBJECT),
            ("jordan RIVERA", None, Part.SUBJECT),
            ("Jordan Rivera", "S-1002", Part.SUBJECT),
        ]
    # Before anyone is linked, a report finds the earlier ones typed alike (blind index, then
    # decrypted): 3 has report 1's name and birth date, 2 its student id.
    assert "Report #1 (Staff member)" in page(app, world, "lead_ben", "/triage/2")[1]
    _, html = page(app, world, "lead_ben", "/triage/3")
    assert "Report #1 (Staff member)" in html and "Report #2" not in html
    _, unrelated = page(app, world, "lead_ben", "/triage/4")
    assert "Report #1" not in unrelated and "None found." in unrelated

    # Triage links them: the first report's people are new, and then a person with both
    # the id and the birth date, through whom report 3 finds report 2 too.
    assert decide(app, world, "lead_ben", 1, NO_THREAT).status_code == 302
    _, html = page(app, world, "lead_ben", "/triage/3")
    assert "Report #1 (Staff member)" in html and "Report #2 (Staff member)" in html
    for report_id in (2, 3, 4):
        assert decide(app, world, "lead_ben", report_id, NO_THREAT).status_code == 302
    with app.extensions["btam"].stores.case_sessions() as db:
        people = db.execute(select(Person).order_by(Person.id)).scalars().all()
        assert [(p.full_name, p.student_number, p.school_id) for p in people] == [
            ("Jordan Rivera", "S-1001", world.school_ids["NHS"]),
            ("Maya Chen", None, world.school_ids["NHS"]),
            ("Jordan Rivera", "S-1002", world.school_ids["NHS"]),
        ]
        links = db.execute(select(ReportMention.person_id).order_by(ReportMention.id)).scalars()
        assert list(links) == [people[0].id, people[1].id, people[0].id, people[0].id, people[2].id]


def test_a_person_given_by_student_id_only_is_refused_whoever_has_that_id(
    app: Flask, world: World
) -> None:
    known = report_form(
        world,
        **person_fields(0, given_name="Jordan", family_name="Rivera", student_number="S-1001"),
    )
    assert submit(app, world, "teacher_cam", known).status_code == 200
    assert decide(app, world, "lead_ben", latest_report(app).id, NO_THREAT).status_code == 302
    before = row_counts(app)
    answers = [
        submit(
            app,
            world,
            "teacher_cam",
            report_form(world, **person_fields(0, student_number=number)),
        )
        for number in ("S-1001", "S-4242")
    ]
    assert [r.status_code for r in answers] == [400, 400]
    for response in answers:
        assert "Give each person&#39;s name (a student id alone is not enough)." in (
            response.get_data(as_text=True)
        )
    assert row_counts(app) == before


@pytest.mark.parametrize(
    ("filename", "content_type", "data", "message"),
    [
        (
            "run.exe",
            "application/x-msdownload",
            b"MZ\x90\x00",
            "Attach a PDF, PNG, JPEG or plain text",
        ),
        ("photo.png", "image/png", b"<script>alert(1)</script>", "does not match its type"),
        ("note.pdf", "application/pdf", b"GIF89a not a pdf", "does not match its type"),
        ("note.txt", "text/plain", "caf\xe9".encode("latin-1"), "must be UTF-8"),
    ],
)
def test_a_bad_file_refuses_the_report_keeps_the_form_and_stores_nothing(
    app: Flask, world: World, filename: str, content_type: str, data: bytes, message: str
) -> None:
    before = row_counts(app)
    narrative = "He wrote <b>you are next</b> on the board & left."
    response = submit(
        app,
        world,
        "teacher_cam",
        report_form(
            world,
            narrative=narrative,
            file=upload(data, filename, content_type),
            **person_fields(0, given_name="Jordan", family_name="Rivera", student_number="S-9"),
        ),
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    # What the teacher typed is still there (escaped), only the file has to be chosen again.
    assert "He wrote &lt;b&gt;you are next&lt;/b&gt; on the board &amp; left." in html
    assert 'value="Rivera"' in html and "<b>you are next</b>" not in html
    assert row_counts(app) == before
    assert audit_entries(app, "intake:report:submitted") == []


def test_a_file_over_ten_mib_is_refused_and_nothing_is_stored(app: Flask, world: World) -> None:
    before = row_counts(app)
    big = PDF + b"0" * (10 * MIB + 1 - len(PDF))
    response = submit(
        app,
        world,
        "teacher_cam",
        report_form(world, file=upload(big, "scan.pdf", "application/pdf")),
    )
    assert response.status_code in (400, 413)
    if response.status_code == 400:
        assert "10 MiB" in response.get_data(as_text=True)
    assert row_counts(app) == before


def test_a_two_mib_photo_is_accepted_as_the_form_promises(app: Flask, world: World) -> None:
    photo = PDF + b"0" * (2 * MIB)
    response = submit(
        app,
        world,
        "teacher_cam",
        report_form(world, file=upload(photo, "scan.pdf", "application/pdf")),
    )
    assert response.status_code == 200


def test_a_good_file_is_stored_encrypted_and_downloads_for_the_team_only(
    app: Flask, world: World
) -> None:
    response = submit(
        app,
        world,
        "teacher_cam",
        report_form(world, file=upload(PDF, "../../cam/screenshot.pdf", "application/pdf")),
    )
    assert response.status_code == 200
    report_id = latest_report(app).id
    with app.extensions["btam"].stores.case_sessions() as db:
        [row] = db.execute(select(ReportAttachment)).scalars().all()
        assert row.filename == "screenshot.pdf" and row.content == PDF and row.size == len(PDF)
    _, html = page(app, world, "member_gus", f"/triage/{report_id}")
    assert "screenshot.pdf" in html
    url = f"/triage/{report_id}/files/{row.id}"
    got = browser_of(app, world, "member_gus").get(url)
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Disposition"] == 'attachment; filename="screenshot.pdf"'
    assert len(audit_entries(app, "intake:attachment:downloaded")) == 1
    assert browser_of(app, world, "teacher_cam").get(url).status_code == 403
    assert browser_of(app, world, "outsider_dee").get(url).status_code == 404
    # The file belongs to its report: under another report's id it is not found.
    other = seed_report(app, world)
    assert (
        browser_of(app, world, "member_gus").get(f"/triage/{other}/files/{row.id}").status_code
        == 404
    )


def test_the_reporter_sees_only_the_status_and_other_staff_see_nothing(
    app: Flask, world: World
) -> None:
    narrative = "Told Maya he would bring his father's gun."
    assert (
        submit(app, world, "teacher_cam", report_form(world, narrative=narrative)).status_code
        == 200
    )
    report_id = latest_report(app).id
    status, mine = page(app, world, "teacher_cam", "/reports/mine")
    assert status == 200 and f"#{report_id}" in mine and "Waiting for triage" in mine
    assert narrative not in mine and "gun" not in mine
    # The team finds no threat, with a reason the reporter must not read.
    decided = browser_of(app, world, "lead_ben").submit(
        f"/triage/{report_id}",
        {
            "outcome": "no_threat",
            "no_threat_action": "counselor",
            "reason": "Father keeps no firearm; the boy was repeating a video game line.",
        },
        action=f"/triage/{report_id}/decide",
    )
    assert decided.status_code == 302
    _, mine = page(app, world, "teacher_cam", "/reports/mine")
    assert "Triaged" in mine and "Waiting for triage" not in mine
    for hidden in ("No threat", "counselor", "video game", "firearm", "gun", "Maya"):
        assert hidden not in mine
    # Nobody else sees the report from the reporter's side or the team's.
    for who in ("counselor_ana", "auditor_eve", "admin_fay"):
        status, theirs = page(app, world, who, "/reports/mine")
        assert status == 200 and f"#{report_id}" not in theirs and "You have not sent" in theirs
        assert page(app, world, who, f"/triage/{report_id}")[0] == 403
    assert page(app, world, "teacher_cam", f"/triage/{report_id}")[0] == 403
    assert page(app, world, "teacher_cam", "/triage/")[0] == 403


# --------------------------------------------------------------------------- confidential reporter


def test_a_confidential_reporter_is_known_to_the_team_lead_only(app: Flask, world: World) -> None:
    response = submit(app, world, "teacher_cam", report_form(world, confidential="y"))
    assert response.status_code == 200
    secret_id = latest_report(app).id
    assert submit(app, world, "teacher_cam", report_form(world)).status_code == 200
    open_id = latest_report(app).id

    _, lead = page(app, world, "lead_ben", f"/triage/{secret_id}")
    assert "Cam Teacher" in lead and "confidential: do not pass on" in lead
    for who in ("member_gus", "officer_hal"):
        _, html = page(app, world, who, f"/triage/{secret_id}")
        assert "Cam Teacher" not in html and "teacher_cam" not in html
        assert "Confidential (known to the team lead)" in html
    # Without the request, every triager sees who reported.
    for who in TEAM:
        _, html = page(app, world, who, f"/triage/{open_id}")
        assert "Cam Teacher" in html and "Confidential" not in html
    # The reporter's name or user name is in no audit entry (its columns hold ids only).
    with app.extensions["btam"].stores.audit_sessions() as db:
        for entry in db.execute(select(AuditEntry)).scalars():
            row = " ".join(str(getattr(entry, c.key)) for c in AuditEntry.__table__.columns)
            assert "Cam Teacher" not in row and "teacher_cam" not in row


def test_a_confidential_reporters_name_does_not_leak_through_the_immediate_actions(
    app: Flask, world: World
) -> None:
    data = report_form(world, confidential="y", imminent="y", called_911="y", lockdown="y")
    assert submit(app, world, "teacher_cam", data).status_code == 200
    report_id = latest_report(app).id
    for who in ("member_gus", "officer_hal"):
        _, html = page(app, world, who, f"/triage/{report_id}")
        assert "911 called" in html
        assert "Cam Teacher" not in html


def test_a_confidential_reporter_is_named_by_no_audit_export(app: Flask, world: World) -> None:
    assert (
        submit(app, world, "teacher_cam", report_form(world, confidential="y")).status_code == 200
    )
    auditor = browser_of(app, world, "auditor_eve")
    export = auditor.get("/audit/export.csv?action=intake:report:submitted")
    assert export.status_code == 200
    rows = export.get_data(as_text=True).splitlines()
    assert len(rows) == 2 and "intake:report:submitted" in rows[1]
    assert "Cam Teacher" not in rows[1] and "teacher_cam" not in rows[1]


# --------------------------------------------------------------------------- imminent danger


def imminent_report(app: Flask, world: World) -> int:
    data = report_form(
        world,
        imminent="y",
        called_911="y",
        lockdown="y",
        actions_by="Cam Teacher and the front office",
        narrative="A student is in the parking lot with a gun.",
    )
    response = submit(app, world, "teacher_cam", data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Call 911 now" in html and "lockdown protocol" in html
    return latest_report(app).id


def test_an_imminent_danger_alerts_every_team_page_until_acknowledged(
    app: Flask, world: World
) -> None:
    report_id = imminent_report(app, world)
    team_pages = ("/dashboard", "/cases/", "/triage/", f"/triage/{report_id}")
    for who in TEAM:
        for url in team_pages:
            status, html = page(app, world, who, url)
            assert status == 200 and ALERT in html, (who, url)
            assert f'href="/triage/{report_id}"' in html
    # Another school's team, the reporter, a counselor and the auditor get no alert.
    for who in ("outsider_dee", "teacher_cam", "counselor_ana", "auditor_eve"):
        assert ALERT not in page(app, world, who, "/dashboard")[1], who
    assert ALERT not in page(app, world, "outsider_dee", "/triage/")[1]
    assert page(app, world, "outsider_dee", f"/triage/{report_id}")[0] == 404
    refused = browser_of(app, world, "outsider_dee").client.post(
        f"/triage/{report_id}/acknowledge",
        data={"csrf_token": csrf_token(page(app, world, "outsider_dee", "/dashboard")[1])},
    )
    assert refused.status_code == 404
    assert audit_entries(app, "triage:imminent:acknowledged") == []

    taken = browser_of(app, world, "member_gus").post_button(
        f"/triage/{report_id}", f"/triage/{report_id}/acknowledge", follow=True
    )
    assert "Alert acknowledged for the team." in taken.get_data(as_text=True)
    for who in TEAM:
        for url in team_pages:
            assert ALERT not in page(app, world, who, url)[1], (who, url)
    [entry] = audit_entries(app, "triage:imminent:acknowledged")
    assert entry.actor_id == world.member_gus.user_id and entry.object_id == str(report_id)
    row = report_row(app, report_id)
    assert row.imminent_acknowledged_by == world.member_gus.user_id
    # A second acknowledgement changes nothing.
    again = browser_of(app, world, "lead_ben").post_button(
        f"/triage/{report_id}", f"/triage/{report_id}/acknowledge", follow=True
    )
    assert "There is no alert to acknowledge" in again.get_data(as_text=True)
    assert len(audit_entries(app, "triage:imminent:acknowledged")) == 1


def test_immediate_actions_are_recorded_at_submit_and_later_but_never_in_the_future(
    app: Flask, world: World
) -> None:
    report_id = imminent_report(app, world)
    with app.extensions["btam"].stores.case_sessions() as db:
        actions = db.execute(select(ReportAction).order_by(ReportAction.id)).scalars().all()
        assert [(a.action.value, a.taken_by) for a in actions] == [
            ("called_911", "Cam Teacher and the front office"),
            ("lockdown", "Cam Teacher and the front office"),
        ]
        assert all(a.recorded_by == world.teacher_cam.user_id for a in actions)
        assert all(datetime.now(UTC) - a.taken_at < timedelta(minutes=5) for a in actions)
    _, html = page(app, world, "officer_hal", f"/triage/{report_id}")
    assert "911 called — Cam Teacher and the front office" in html
    assert "Lockdown protocol followed — Cam Teacher and the front office" in html

    officer = browser_of(app, world, "officer_hal")
    url = f"/triage/{report_id}"
    earlier = (datetime.now(UTC) - timedelta(minutes=20)).strftime("%Y-%m-%d %H:%M")
    done = officer.submit(
        url,
        {"action": "parents_notified", "taken_by": "Principal Diaz, by phone", "taken_at": earlier},
        action=f"{url}/actions",
        follow=True,
    )
    assert "Action recorded." in done.get_data(as_text=True)
    assert f"Parents notified — Principal Diaz, by phone, {earlier} UTC" in done.get_data(
        as_text=True
    )
    [entry] = audit_entries(app, "triage:action:recorded")
    assert entry.purpose == "parents_notified" and entry.actor_id == world.officer_hal.user_id

    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    before = row_counts(app)
    for when, message in ((later, "cannot be in the future"), ("yesterday", "YYYY-MM-DD HH:MM")):
        refused = officer.submit(
            url,
            {"action": "officer_notified", "taken_by": "Sgt. Ortiz", "taken_at": when},
            action=f"{url}/actions",
        )
        assert refused.status_code == 400
        html = refused.get_data(as_text=True)
        assert message in html and 'value="Sgt. Ortiz"' in html and f'value="{when}"' in html
    assert row_counts(app) == before
    assert len(audit_entries(app, "triage:action:recorded")) == 1


def test_an_imminent_danger_at_another_school_alerts_that_schools_team_only(
    app: Flask, world: World
) -> None:
    report_id = seed_report(app, world, school="SMS", imminent=True)
    status, html = page(app, world, "outsider_dee", "/dashboard")
    assert status == 200 and ALERT in html and f'href="/triage/{report_id}"' in html
    for who in TEAM:
        assert ALERT not in page(app, world, who, "/dashboard")[1], who


def test_the_submitted_page_of_an_ordinary_report_shows_no_emergency(
    app: Flask, world: World
) -> None:
    html = submit(app, world, "teacher_cam", report_form(world)).get_data(as_text=True)
    assert "Call 911 now" not in html
    form = page(app, world, "teacher_cam", "/reports/new")[1]
    assert "If someone is in danger now, call 911" in form
    for who in TEAM:
        assert ALERT not in page(app, world, who, "/dashboard")[1]


def test_a_friday_report_is_due_on_monday(app: Flask, world: World) -> None:
    """Also checks the seeding helper of the triage tests against what the pages show."""
    report_id = seed_report(
        app,
        world,
        people=((Part.SUBJECT, student("Jordan", "Rivera", "S-1001", date(2010, 3, 14))),),
        at=datetime(2025, 1, 10, 14, 0, tzinfo=UTC),
    )
    row = report_row(app, report_id)
    assert row.channel is Channel.STAFF
    assert row.due_at == datetime(2025, 1, 13, 14, 0, tzinfo=UTC)
    assert re.search("Jordan Rivera", page(app, world, "lead_ben", f"/triage/{report_id}")[1])
