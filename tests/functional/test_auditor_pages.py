"""The auditor's pages: search, export, integrity and the emergency-grant review queue."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import text

from btam.audit import trail
from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import AuditContext
from btam.audit.trail import Verdict
from btam.errors import ValidationFailed
from tests.support.cases import acting_as, grant_emergency, seed_cases
from tests.support.personas import World
from tests.support.stores import audit_actions
from tests.support.web import signed_in


def test_the_auditor_finds_whosigned_in(app: Flask, world: World) -> None:
    signed_in(app, world, "lead_ben")
    eve = signed_in(app, world, "auditor_eve")
    page = eve.get("/audit/?username=+Lead_Ben+&action=auth:login:success")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ben Lead" in html and "auth:login:success" in html
    assert "1 entry" in html
    assert "audit:trail:viewed" in audit_actions(app)


def test_an_unknown_user_name_is_a_message_not_an_empty_trail(app: Flask, world: World) -> None:
    eve = signed_in(app, world, "auditor_eve")
    page = eve.get("/audit/?username=nobody.here")
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "No account has this user name." in html
    assert "No entries match" not in html
    # Both typed fields are looked up: each names what it got wrong, at once.
    page = eve.get("/audit/?username=nobody.here&case_number=2026-9999")
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "No account has this user name." in html and "No case has this number." in html


def test_a_date_range_narrows_the_trail(app: Flask, world: World) -> None:
    eve = signed_in(app, world, "auditor_eve")
    today = datetime.now(UTC).date()
    html = eve.get(f"/audit/?date_from={today}&date_to={today}").get_data(as_text=True)
    assert "No entries match" not in html
    past = today - timedelta(days=30)
    html = eve.get(f"/audit/?date_from={past}&date_to={past}").get_data(as_text=True)
    assert "No entries match" in html


def test_a_reversed_date_range_is_refused_with_a_message(app: Flask, world: World) -> None:
    eve = signed_in(app, world, "auditor_eve")
    html = eve.get("/audit/?date_from=2026-02-01&date_to=2026-01-01").get_data(as_text=True)
    assert "The end date is before the start date." in html


def test_malformed_filters_get_messages_not_errors(app: Flask, world: World) -> None:
    eve = signed_in(app, world, "auditor_eve")
    for query in (
        "case_number=abc",
        "case_number=²",
        "case_number=2026-²²²²",
        "case_number=2026-0001%27--",
        "date_from=yesterday",
    ):
        response = eve.get(f"/audit/?{query}")
        html = response.get_data(as_text=True)
        assert response.status_code == 400, query
        assert "field-error" in html, query
        assert 'class="error-summary"' in html, query
    assert eve.get("/audit/?action=not:an:action").status_code == 400
    for page in ("-4", "²", "٣", "0", " 2", "2147483648"):
        assert eve.get(f"/audit/?page={page}").status_code == 400, page
    assert eve.get("/audit/?page=0002").status_code == 200


def test_the_export_is_a_csv_and_is_itself_recorded(app: Flask, world: World) -> None:
    eve = signed_in(app, world, "auditor_eve")
    response = eve.get("/audit/export.csv?action=auth:login:success")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["seq", "at_utc", "actor_id"]
    assert {row[5] for row in rows[1:]} == {"auth:login:success"}
    assert "audit:trail:exported" in audit_actions(app)


def test_a_name_that_looks_like_a_formula_is_defused_in_the_export(
    app: Flask, world: World
) -> None:
    admin = signed_in(app, world, "admin_fay")
    admin.submit(
        f"/admin/users/{world.teacher_cam.user_id}",
        {
            "display_name": '=HYPERLINK("http://x")',
            "role": "staff",
            "discipline": "",
            "school_ids": str(world.school_ids["NHS"]),
        },
    )
    signed_in(app, world, "teacher_cam")
    eve = signed_in(app, world, "auditor_eve")
    body = eve.get("/audit/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in body
    assert ",=HYPERLINK" not in body


def test_the_page_says_the_chain_is_intact(app: Flask, world: World) -> None:
    eve = signed_in(app, world, "auditor_eve")
    html = eve.get("/audit/").get_data(as_text=True)
    assert "Intact." in html
    assert "await the next signed checkpoint; the witness file holds the head" in html


def test_the_page_reports_tampering(app: Flask, world: World) -> None:
    eve = signed_in(app, world, "auditor_eve")
    engine = app.extensions["btam"].stores.audit_engine
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            triggers = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type='trigger'")
            ).scalars()
            for name in list(triggers):
                conn.execute(text(f'DROP TRIGGER "{name}"'))
        else:
            conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER ALL"))
        conn.execute(text("UPDATE audit_entries SET outcome = 'denied' WHERE seq = 2"))
    html = eve.get("/audit/").get_data(as_text=True)
    assert "Tampering detected" in html


def _grant(app: Flask, actor_id: int) -> int:
    """An emergency grant as the policy records it (the grant itself arrives with the policy)."""
    writer = app.extensions["btam"].audit
    return writer.append(
        AuditContext(
            actor_id=actor_id, actor_role="team_lead", request_id="r1", client_address="127.0.0.1"
        ),
        action=AuditAction.ACCESS_EMERGENCY_GRANTED,
        outcome=Outcome.ALLOWED,
        object_type="case",
        object_id="17",
        case_id=17,
        purpose="health or safety emergency",
    )


def test_emergency_grants_wait_for_review_and_are_reviewed_once(app: Flask, world: World) -> None:
    seq = _grant(app, world.outsider_dee.user_id)
    eve = signed_in(app, world, "auditor_eve")
    queue = eve.get("/audit/grants").get_data(as_text=True)
    assert "Dee Outsider" in queue and "Record review" in queue
    eve.submit("/audit/grants", {"verdict": "justified"}, action=f"/audit/grants/{seq}/review")
    queue = eve.get("/audit/grants").get_data(as_text=True)
    assert "Reviewed: justified" in queue
    again = eve.submit(
        "/audit/grants",
        {"verdict": "not_justified"},
        action=f"/audit/grants/{seq}/review",
        follow=True,
    )
    assert "reviewed already" in again.get_data(as_text=True)
    assert audit_actions(app).count("audit:grant:reviewed") == 1


def test_auditors_reviewing_one_grant_at_once_record_one_review(app: Flask, world: World) -> None:
    """Each reviewer has its own thread and connections, as separate requests would."""
    seq = _grant(app, world.outsider_dee.user_id)
    reviewers = 6
    start = threading.Barrier(reviewers)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def review(verdict: Verdict) -> None:
        try:
            with acting_as(app, world, "auditor_eve") as ctx:
                start.wait(timeout=60)
                try:
                    trail.review_grant(ctx, seq=seq, verdict=verdict)
                    outcomes.append("recorded")
                except ValidationFailed:
                    outcomes.append("refused")
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [
        threading.Thread(target=review, args=(list(Verdict)[n % 2],)) for n in range(reviewers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(outcomes) == ["recorded"] + ["refused"] * (reviewers - 1)
    assert audit_actions(app).count("audit:grant:reviewed") == 1


def test_only_grants_can_be_reviewed(app: Flask, world: World) -> None:
    eve = signed_in(app, world, "auditor_eve")
    response = eve.submit(
        "/audit/grants", {"verdict": "justified"}, action="/audit/grants/1/review"
    )
    assert response.status_code == 404


def test_no_other_role_opens_the_trail(app: Flask, world: World) -> None:
    for who in ("admin_fay", "lead_ben", "member_gus", "counselor_ana", "teacher_cam"):
        browser = signed_in(app, world, who)
        for url in ("/audit/", "/audit/export.csv", "/audit/grants"):
            assert browser.get(url).status_code == 403, (who, url)


def test_the_auditor_finds_a_case_by_its_number_and_reads_numbers_not_ids(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    ben = signed_in(app, world, "lead_ben")
    assert ben.get(f"/cases/{seeded.north}").status_code == 200
    eve = signed_in(app, world, "auditor_eve")
    page = eve.get(f"/audit/?case_number={seeded.north}&action=case:record:viewed")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"case {seeded.north}" in html
    assert "(case #" not in html and "case 1<" not in html
    # Another case's views are not in it.
    assert seeded.south not in html
    unknown = eve.get("/audit/?case_number=1999-0001")
    assert unknown.status_code == 400
    assert "No case has this number." in unknown.get_data(as_text=True)


def test_the_grant_review_shows_the_threat_and_what_was_read_and_preselects_nothing(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    grant_emergency(app, world, "outsider_dee", seeded.north)
    dee = signed_in(app, world, "outsider_dee")
    assert dee.get(f"/cases/{seeded.north}").status_code == 200
    eve = signed_in(app, world, "auditor_eve")
    html = eve.get("/audit/grants").get_data(as_text=True)
    assert "has a gun in his car in the south lot" in html
    assert "School resource officer and the principal" in html
    assert "Dee Outsider" in html
    assert f"case {seeded.north}" in html
    assert "case:record:viewed" in html  # what was read under the grant
    assert 'value="" selected disabled' in html
    assert 'value="justified" selected' not in html
    # The auditor reads the statement, never the case itself.
    assert "knife on Friday" not in html
    assert eve.get(f"/cases/{seeded.north}").status_code in (403, 404)
    assert "audit:grants:viewed" in audit_actions(app)


def test_a_review_without_a_verdict_records_nothing(app: Flask, world: World) -> None:
    seq = _grant(app, world.outsider_dee.user_id)
    eve = signed_in(app, world, "auditor_eve")
    answer = eve.submit(
        "/audit/grants", {"verdict": ""}, action=f"/audit/grants/{seq}/review", follow=True
    )
    assert "Choose a verdict" in answer.get_data(as_text=True)
    assert "audit:grant:reviewed" not in audit_actions(app)
