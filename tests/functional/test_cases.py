"""The case pages as the team, a counselor, an outside officer and an auditor use them."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from btam.access.record_classes import RecordClass
from btam.accounts.models import User
from btam.cases.models import Case, EmergencyGrant
from btam.cases.services import emergency, opening, records, team
from btam.cases.services import page as case_page
from btam.context import carry_out
from btam.errors import AccessDenied, NotFound, ValidationFailed
from btam.people.models import Disclosure, Person
from btam.people.services import disclosures, merging
from tests.support.cases import PDF, Part, acting_as, grant_emergency, seed_cases, student
from tests.support.personas import World, with_district_member
from tests.support.stores import audit_entries, case_store_digest
from tests.support.web import Browser, signed_in

_BROWSERS: dict[tuple[int, str], Browser] = {}


def browser_of(app: Flask, world: World, who: str) -> Browser:
    """One signed-in browser per persona and app: TOTP codes cannot be reused at will."""
    key = (id(app), who)
    if key not in _BROWSERS:
        _BROWSERS[key] = signed_in(app, world, who)
    return _BROWSERS[key]


def page(app: Flask, world: World, who: str, url: str) -> tuple[int, str]:
    response = browser_of(app, world, who).get(url)
    return response.status_code, response.get_data(as_text=True)


def test_opening_a_case_from_the_page_numbers_it_per_district_and_year(
    app: Flask, world: World
) -> None:
    browser = browser_of(app, world, "lead_ben")
    team_school = f"{world.team_ids['north']}:{world.school_ids['NHS']}"
    numbers = []
    for family in ("Rivera", "Okafor"):
        response = browser.submit(
            "/cases/new",
            {
                "team_school": team_school,
                "kind": "student",
                "given_name": "Jordan",
                "family_name": family,
                "date_of_birth": "2010-03-14",
                "student_number": f"S-{family}",
                "summary": "Said he would 'end it' for a classmate on Friday.",
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        numbers.append(response.headers["Location"].rsplit("/", 1)[-1])
    year = date.today().year
    assert numbers == [f"{year}-0001", f"{year}-0002"]
    status, html = page(app, world, "lead_ben", f"/cases/{numbers[0]}")
    assert status == 200
    assert "Jordan Rivera" in html and "end it" in html
    assert [e.case_id for e in audit_entries(app, "case:record:opened")] == [1, 2]


def test_a_case_cannot_be_opened_for_another_school_or_team(app: Flask, world: World) -> None:
    browser = browser_of(app, world, "lead_ben")
    # The south team and SMS are not his: the choice is not offered, and forcing it fails.
    response = browser.submit(
        "/cases/new",
        {
            "team_school": f"{world.team_ids['south']}:{world.school_ids['SMS']}",
            "kind": "student",
            "family_name": "Lee",
            "summary": "Anything",
        },
    )
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    with acting_as(app, world, "lead_ben") as ctx, pytest.raises(AccessDenied):
        carry_out(
            ctx,
            opening.open_case(
                ctx,
                school_id=world.school_ids["SMS"],
                team_id=world.team_ids["south"],
                summary="Anything",
                subject=student("Sam", "Lee", born=date(2012, 1, 20), number="S-9"),
            ),
        )
    with app.extensions["btam"].stores.case_sessions() as db:
        assert db.execute(select(Case)).first() is None


def test_each_discipline_reads_its_own_record_class_and_the_team_reads_summaries(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    url = f"/cases/{seeded.north}"
    _, lead = page(app, world, "lead_ben", url)
    _, clinician = page(app, world, "member_gus", url)
    _, officer = page(app, world, "officer_hal", url)
    for html in (lead, clinician, officer):
        assert "Met the parents." in html  # education: the whole team
        assert "Engaged; safety plan agreed." in html  # counseling summary for the team
        assert "No weapon found at home." in html  # the officer's shared summary
    assert "Session notes: talked about home." in clinician
    assert "Session notes" not in lead and "Session notes" not in officer
    assert "Evidence log" in officer
    assert "Evidence log" not in lead and "Evidence log" not in clinician
    assert "screening.pdf" in clinician and "screening.pdf" not in lead
    assert "evidence.txt" in officer and "evidence.txt" not in clinician


def test_a_discipline_cannot_file_another_disciplines_records(app: Flask, world: World) -> None:
    seeded = seed_cases(app, world)
    browser = browser_of(app, world, "lead_ben")
    response = browser.submit(
        f"/cases/{seeded.north}",
        {"record_class": "law_enforcement", "body": "Not mine to write."},
        action=f"/cases/{seeded.north}/notes",
    )
    assert response.status_code == 400
    assert "Only a member of that discipline" in response.get_data(as_text=True)


def test_a_counselor_sees_the_header_and_its_own_work_only(app: Flask, world: World) -> None:
    seeded = seed_cases(app, world)
    status, html = page(app, world, "counselor_ana", f"/cases/{seeded.north}")
    assert status == 200
    assert "Weekly check-in with the student" in html
    for content in ("Jordan", "Rivera", "knife", "Met the parents", "Engaged", "statement.pdf"):
        assert content not in html
    assert page(app, world, "counselor_ana", f"/cases/{seeded.north_quiet}")[0] == 404
    listing = page(app, world, "counselor_ana", "/cases/")[1]
    assert seeded.north in listing and seeded.north_quiet not in listing
    # The counselor, owner of the plan item, marks it done on the item's page.
    browser = browser_of(app, world, "counselor_ana")
    item = f"/cases/{seeded.north}/plan/{seeded.assignment_id}"
    done = browser.submit(item, {"status": "done"}, action=f"{item}/status", follow=True)
    assert "Status recorded." in done.get_data(as_text=True)


def test_a_team_member_from_an_outside_agency_reads_the_redisclosure_notice(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    with app.extensions["btam"].stores.case_sessions() as db:
        db.execute(
            update(User)
            .where(User.id == world.people["officer_hal"].user_id)
            .values(agency="North Police Department")
        )
        db.commit()
    _, html = page(app, world, "officer_hal", f"/cases/{seeded.north}")
    assert "not for North Police Department" in html
    assert "health or safety emergency" in html
    _, person = page(app, world, "officer_hal", f"/people/{seeded.subject_id}")
    assert "not for North Police Department" in person
    assert (
        "North Police Department"
        not in page(app, world, "member_gus", f"/cases/{seeded.north}")[1].split(
            "Who works this case"
        )[0]
    )


def test_an_emergency_grant_opens_the_case_for_hours_records_disclosures_and_is_reviewed(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    url = f"/cases/{seeded.north}"
    assert page(app, world, "outsider_dee", url)[0] == 404
    browser = browser_of(app, world, "outsider_dee")
    short = browser.submit(
        "/cases/emergency-access", {"number": seeded.north, "threat": "urgent", "parties": "me"}
    )
    assert short.status_code == 200 and "between 20 and 4000" in short.get_data(as_text=True)
    granted = browser.submit(
        "/cases/emergency-access",
        {
            "number": seeded.north,
            "threat": "A student says Jordan has a gun in his car in the south lot right now.",
            "parties": "The SMS principal and the school resource officer",
        },
        follow=True,
    )
    html = granted.get_data(as_text=True)
    assert "Emergency access" in html and "Met the parents." in html
    # Education records only: the counseling and law-enforcement notes stay closed.
    assert "Session notes" not in html and "Evidence log" not in html
    assert "Add a note" not in html  # read only
    refused = browser.submit(url, {"record_class": "education", "body": "x"}, action=f"{url}/notes")
    assert refused.status_code == 403

    [entry] = audit_entries(app, "access:emergency:granted")
    assert entry.actor_id == world.people["outsider_dee"].user_id and entry.outcome == "allowed"
    assert "gun" not in (entry.purpose or "")
    with app.extensions["btam"].stores.case_sessions() as db:
        disclosures = db.execute(select(Disclosure)).scalars().all()
        assert [d.person_id for d in disclosures] == [seeded.subject_id]
        assert disclosures[0].is_emergency and "gun" in (disclosures[0].threat or "")
    # The lead sees the grant and the threat; the auditor's queue holds it.
    lead_html = page(app, world, "lead_ben", url)[1]
    assert "Dee Outsider" in lead_html and "gun in his car" in lead_html
    queue = page(app, world, "auditor_eve", "/audit/grants")[1]
    assert f"case {seeded.north}" in queue and "gun in his car" in queue
    auditor_person = page(app, world, "auditor_eve", f"/people/{seeded.subject_id}")[1]
    assert "gun in his car" in auditor_person and "Rivera" not in auditor_person

    # Expired: the same URL reads nothing again.
    with app.extensions["btam"].stores.case_sessions() as db:
        expired = datetime.now(UTC) - timedelta(seconds=1)
        db.execute(update(EmergencyGrant).values(expires_at=expired))
        db.commit()
    assert browser.get(url).status_code == 404


def test_a_grant_is_refused_to_whoever_already_reads_the_case_and_to_other_roles(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    with acting_as(app, world, "lead_ben") as ctx, pytest.raises(ValidationFailed):
        carry_out(
            ctx,
            emergency.request_grant(
                ctx, number=seeded.north, threat="x" * 30, parties="the principal"
            ),
        )
    assert page(app, world, "teacher_cam", "/cases/emergency-access")[0] == 403
    assert page(app, world, "auditor_eve", "/cases/emergency-access")[0] == 403


def test_the_lead_can_end_a_grant_early(app: Flask, world: World) -> None:
    seeded = seed_cases(app, world)
    grant_emergency(app, world, "outsider_dee", seeded.north)
    assert page(app, world, "outsider_dee", f"/cases/{seeded.north}")[0] == 200
    with app.extensions["btam"].stores.case_sessions() as db:
        grant_id = db.execute(select(EmergencyGrant.id)).scalar_one()
    lead = browser_of(app, world, "lead_ben")
    lead.post_button(f"/cases/{seeded.north}", f"/cases/{seeded.north}/grants/{grant_id}/end")
    assert page(app, world, "outsider_dee", f"/cases/{seeded.north}")[0] == 404
    assert len(audit_entries(app, "access:emergency:ended")) == 1


def test_recording_a_disclosure_keeps_it_with_the_person(app: Flask, world: World) -> None:
    seeded = seed_cases(app, world)
    browser = browser_of(app, world, "member_gus")
    url = f"/people/{seeded.subject_id}"
    response = browser.submit(
        url,
        {
            "basis": "parent_consent",
            "recipient": "Riverside Family Clinic, intake team",
            "interest": "Mother signed consent for a mental-health referral.",
            "disclosed_on": date.today().isoformat(),
            "case_number": seeded.north,
        },
        action=f"{url}/disclosures",
        follow=True,
    )
    html = response.get_data(as_text=True)
    assert "Disclosure recorded." in html and "Riverside Family Clinic" in html
    assert audit_entries(app, "person:disclosure:recorded")[0].purpose == "parent_consent"
    assert "Riverside Family Clinic" in page(app, world, "auditor_eve", "/people/disclosures")[1]
    # Another team's lead may neither see nor add to this person's record.
    assert page(app, world, "outsider_dee", url)[0] == 404


def test_person_search_finds_earlier_records_within_what_the_actor_may_see(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    # A second case for the same student (typed differently) links the same person.
    with acting_as(app, world, "lead_ben") as ctx:
        second = carry_out(
            ctx,
            opening.open_case(
                ctx,
                school_id=world.school_ids["NHS"],
                team_id=world.team_ids["north"],
                summary="Again in a fight.",
                subject=student("  JORDAN ", "rivera", born=date(2010, 3, 14), number="s-1001"),
            ),
        ).number
    browser = browser_of(app, world, "member_gus")
    found = browser.submit(
        "/people/search",
        {
            "kind": "student",
            "given_name": "jordan",
            "family_name": "RIVERA",
            "date_of_birth": "2010-03-14",
        },
    ).get_data(as_text=True)
    assert "1 match" in found and seeded.north in found and second in found
    by_number = browser.submit("/people/search", {"kind": "student", "student_number": "S-1001"})
    assert "1 match" in by_number.get_data(as_text=True)
    other = browser_of(app, world, "outsider_dee").submit(
        "/people/search", {"kind": "student", "student_number": "S-1001"}
    )
    assert "0 matches" in other.get_data(as_text=True)
    with app.extensions["btam"].stores.case_sessions() as db:
        assert len(db.execute(select(Person)).scalars().all()) == 3
    [entry] = audit_entries(app, "person:search:run")[:1]
    assert "1001" not in (entry.purpose or "") and "rivera" not in (entry.purpose or "").lower()


@pytest.mark.parametrize(
    ("filename", "content_type", "data", "message"),
    [
        ("a.exe", "application/x-msdownload", b"MZ", "Attach a PDF, PNG, JPEG or plain text"),
        ("fake.pdf", "application/pdf", b"<script>alert(1)</script>", "does not match its type"),
        ("empty.txt", "text/plain", b"", "The file is empty"),
        ("latin.txt", "text/plain", "caf\xe9".encode("latin-1"), "must be UTF-8"),
    ],
)
def test_bad_attachments_are_refused_and_nothing_is_stored(
    app: Flask, world: World, filename: str, content_type: str, data: bytes, message: str
) -> None:
    seeded = seed_cases(app, world)
    browser = browser_of(app, world, "lead_ben")
    url = f"/cases/{seeded.north}"
    token_page = browser.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', token_page)
    assert token
    response = browser.client.post(
        f"{url}/attachments",
        data={
            "csrf_token": token.group(1),
            "record_class": "education",
            "file": (io.BytesIO(data), filename, content_type),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html or (not data and "This field is required" in html)
    with acting_as(app, world, "lead_ben") as ctx:
        assert [a.filename for a in case_page.view_case(ctx, seeded.north).attachments] == [
            "statement.pdf"
        ]


def test_an_attachment_downloads_as_a_file_and_the_download_is_audited(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    attachment_id = seeded.attachment_ids[RecordClass.EDUCATION]
    response = browser_of(app, world, "member_gus").get(
        f"/cases/{seeded.north}/attachments/{attachment_id}"
    )
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"] == 'attachment; filename="statement.pdf"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(audit_entries(app, "case:attachment:downloaded")) == 1


def test_html_in_case_fields_is_shown_as_text(app: Flask, world: World) -> None:
    seeded = seed_cases(app, world)
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(
            ctx, records.update_summary(ctx, seeded.north, summary='<script>alert("x")</script>')
        )
    html = page(app, world, "lead_ben", f"/cases/{seeded.north}")[1]
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;" in html


def test_a_malformed_or_unknown_case_number_is_a_recorded_404(app: Flask, world: World) -> None:
    for number in ("../etc", "2026-9999", "<b>"):
        with acting_as(app, world, "lead_ben") as ctx, pytest.raises(NotFound):
            case_page.view_case(ctx, number)
    ids = [e.object_id for e in audit_entries(app, "access:record:denied")]
    assert ids == ["malformed", "2026-9999", "malformed"]


def test_a_disclosure_made_from_another_teams_case_shows_without_its_details(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    with acting_as(app, world, "lead_ben") as ctx:
        from btam.people.terms import DisclosureBasis

        carry_out(
            ctx,
            disclosures.record_disclosure(
                ctx,
                seeded.subject_id,
                basis=DisclosureBasis.SUBPOENA_OR_COURT_ORDER,
                recipient="County juvenile court",
                interest="Subpoena in the knife incident",
                disclosed_at=ctx.now,
                case_number=seeded.north,
            ),
        )
    # The same student turns up in the south team's case: recorded again (the South team may
    # not see the North record), then merged by a district-wide member who sees both.
    with acting_as(app, world, "outsider_dee") as ctx:
        carry_out(
            ctx,
            records.add_party(
                ctx,
                seeded.south,
                part=Part.WITNESS,
                person=student("Jordan", "Rivera", born=date(2010, 3, 14), number="S-1001"),
            ),
        )
    assert page(app, world, "outsider_dee", f"/people/{seeded.subject_id}")[0] == 404
    world = with_district_member(app, world)
    with acting_as(app, world, "roamer_ivy") as ctx:
        [duplicate] = merging.duplicates_of(ctx, seeded.subject_id)
        carry_out(ctx, merging.merge_people(ctx, keep_id=seeded.subject_id, merge_id=duplicate.id))
    status, html = page(app, world, "outsider_dee", f"/people/{seeded.subject_id}")
    assert status == 200 and "Jordan Rivera" in html
    assert "County juvenile court" in html  # that a disclosure happened is part of his record
    assert "knife" not in html and seeded.north not in html
    assert "Made from a case you may not see" in html


def test_an_attachment_may_be_larger_than_a_form_but_not_than_ten_mib(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    browser = browser_of(app, world, "lead_ben")
    url = f"/cases/{seeded.north}"

    def upload(size: int) -> int:
        token_page = browser.get(url).get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', token_page)
        assert token
        return browser.client.post(
            f"{url}/attachments",
            data={
                "csrf_token": token.group(1),
                "record_class": "education",
                "file": (io.BytesIO(PDF + b"0" * (size - len(PDF))), "big.pdf", "application/pdf"),
            },
            content_type="multipart/form-data",
        ).status_code

    assert upload(3 * 1024 * 1024) == 302
    assert upload(12 * 1024 * 1024) == 413
    # Other forms keep the 1 MiB limit.
    assert (
        browser.client.post(f"{url}/notes", data={"body": "x" * (2 * 1024 * 1024)}).status_code
        == 413
    )


def test_only_workers_whose_scope_holds_the_cases_school_can_be_added_to_it(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    browser = browser_of(app, world, "lead_ben")
    url = f"/cases/{seeded.north}"
    html = browser.get(url).get_data(as_text=True)
    member_select = re.search(r'<select[^>]*name="user_id".*?</select>', html, re.S)
    assert member_select is not None
    assert "Ana Counselor" in member_select.group(0)
    assert "Dee Outsider" not in member_select.group(0)  # South Middle only
    before = case_store_digest(app)
    response = browser.submit(url, {"user_id": world.outsider_dee.user_id}, action=f"{url}/members")
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert case_store_digest(app) == before
    # The service refuses the same, whatever calls it.
    with acting_as(app, world, "lead_ben") as ctx, pytest.raises(ValidationFailed, match="school"):
        team.add_member(ctx, seeded.north, user_id=world.outsider_dee.user_id)
