"""Triage at /triage/ as the team does it: the queue and its due times, the subject's history
as far as the policy allows, the screening questions and every outcome, once per report,
and never across schools."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from btam.accounts.services import organisation
from btam.cases.models import Case, CaseParty
from btam.context import carry_out
from btam.intake.services.reports import one_school_day_after
from btam.people.services.matching import PersonData
from btam.people.terms import Part, PersonKind
from tests.support.cases import seed_cases
from tests.support.intake import (
    ALERT,
    browser_of,
    page,
    report_row,
    row_counts,
    seed_report,
    seed_tip,
    student,
)
from tests.support.personas import World, system_ctx, with_district_member
from tests.support.stores import audit_entries

JORDAN = student("Jordan", "Rivera", "S-1001", date(2010, 3, 14))
MAYA = student("Maya", "Chen", "S-1010")
SCREEN_ALL_YES = {
    "screen_imminent": "no",
    "screen_threat_communicated": "yes",
    "screen_someone_in_fear": "yes",
    "screen_has_plan": "yes",
    "screen_manageable_under_plan": "no",
}


def decide(app: Flask, world: World, who: str, report_id: int, data: dict[str, object]):  # type: ignore[no-untyped-def]
    return browser_of(app, world, who).submit(
        f"/triage/{report_id}", data, action=f"/triage/{report_id}/decide"
    )


def cases_of(app: Flask) -> list[Case]:
    with app.extensions["btam"].stores.case_sessions() as db:
        return list(db.execute(select(Case).order_by(Case.id)).scalars())


# --------------------------------------------------------------------------- the queue


def test_one_school_day_skips_the_weekend() -> None:
    friday = datetime(2025, 1, 10, 14, 0, tzinfo=UTC)
    assert one_school_day_after(friday) == datetime(2025, 1, 13, 14, 0, tzinfo=UTC)
    saturday = datetime(2025, 1, 11, 9, 0, tzinfo=UTC)
    assert one_school_day_after(saturday) == datetime(2025, 1, 13, 9, 0, tzinfo=UTC)
    tuesday = datetime(2025, 1, 7, 9, 0, tzinfo=UTC)
    assert one_school_day_after(tuesday) == datetime(2025, 1, 8, 9, 0, tzinfo=UTC)


def test_the_queue_is_oldest_first_with_due_times_and_overdue_marks(
    app: Flask, world: World
) -> None:
    friday = seed_report(app, world, at=datetime(2025, 1, 10, 14, 0, tzinfo=UTC))
    fresh = seed_report(app, world, people=((Part.SUBJECT, JORDAN),))
    tuesday = seed_report(app, world, at=datetime(2025, 1, 7, 9, 30, tzinfo=UTC))
    south = seed_report(app, world, school="SMS")
    status, html = page(app, world, "lead_ben", "/triage/")
    assert status == 200
    positions = [html.index(f'href="/triage/{i}"') for i in (tuesday, friday, fresh)]
    assert positions == sorted(positions)
    assert f'href="/triage/{south}"' not in html
    # The Friday report was due on Monday; it and the Tuesday one are overdue now.
    assert "2025-01-10 14:00" in html and "2025-01-13 14:00 UTC (overdue)" in html
    assert "2025-01-08 09:30 UTC (overdue)" in html
    assert html.count("(overdue)") == 2
    assert "Jordan Rivera" in html  # the subject of the fresh report
    _, report = page(app, world, "member_gus", f"/triage/{friday}")
    assert "2025-01-13 14:00" in report and "(overdue)" in report
    assert [e.actor_id for e in audit_entries(app, "triage:queue:viewed")] == [
        world.lead_ben.user_id
    ]
    # Triaged, it leaves the queue.
    decide(app, world, "lead_ben", tuesday, {"outcome": "suicide_protocol"})
    assert f'href="/triage/{tuesday}"' not in page(app, world, "lead_ben", "/triage/")[1]


@pytest.mark.parametrize("who", ["teacher_cam", "counselor_ana", "auditor_eve", "admin_fay"])
def test_only_the_team_triages(app: Flask, world: World, who: str) -> None:
    report_id = seed_report(app, world)
    assert page(app, world, who, "/triage/")[0] == 403
    assert page(app, world, who, f"/triage/{report_id}")[0] == 403
    assert "/triage/" not in page(app, world, who, "/dashboard")[1]


# --------------------------------------------------------------------------- history


def test_the_history_shows_earlier_records_only_as_far_as_the_policy_allows(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    people_before = row_counts(app)["people"]
    typed = student("  JORDAN ", "rivera", "s-1001")
    earlier = seed_report(app, world, people=((Part.SUBJECT, typed),))
    north = seed_report(app, world, people=((Part.SUBJECT, typed),))
    # Kept as typed: nobody is created or looked up when a report comes in.
    assert row_counts(app)["people"] == people_before
    _, html = page(app, world, "lead_ben", f"/triage/{north}")
    assert f"Case {seeded.north} (Subject)" in html and f'href="/cases/{seeded.north}"' in html
    assert f"Report #{earlier} (Staff member)" in html
    queue = page(app, world, "lead_ben", "/triage/")[1]
    assert "<td>2</td>" in queue  # the earlier case and report of the later report

    # The South team triages a South report about the same student: no North record shows.
    south = seed_report(
        app, world, school="SMS", by="outsider_dee", people=((Part.WITNESS, typed),)
    )
    status, html = page(app, world, "outsider_dee", f"/triage/{south}")
    assert status == 200 and "JORDAN rivera" in html  # as typed: she may see no one like it
    assert seeded.north not in html and f"Report #{earlier}" not in html
    assert "None found." in html
    assert "<td>0</td>" in page(app, world, "outsider_dee", "/triage/")[1]
    # Her own team's case about Sam Lee does show for a report about Sam.
    sam = seed_report(
        app,
        world,
        school="SMS",
        people=((Part.SUBJECT, student("Sam", "Lee", "S-2001")),),
    )
    assert f"Case {seeded.south} (Subject)" in page(app, world, "outsider_dee", f"/triage/{sam}")[1]


# --------------------------------------------------------------------------- outcomes


def test_opening_a_case_screens_links_the_report_and_makes_its_people_parties(
    app: Flask, world: World
) -> None:
    witness = PersonData(kind=PersonKind.STAFF, given_name="Ola", family_name="Brandt")
    report_id = seed_report(
        app,
        world,
        people=((Part.SUBJECT, JORDAN), (Part.TARGET, MAYA), (Part.WITNESS, witness)),
    )
    response = decide(
        app,
        world,
        "lead_ben",
        report_id,
        {
            "outcome": "opened_case",
            "team_id": str(world.team_ids["north"]),
            "summary": "Threat to Maya in the hallway; assess this week.",
            **SCREEN_ALL_YES,
        },
    )
    assert response.status_code == 302
    [case] = cases_of(app)
    assert response.headers["Location"] == f"/cases/{case.number}"
    _, html = page(app, world, "member_gus", f"/cases/{case.number}")
    assert "Jordan Rivera" in html and "Maya Chen" in html and "Ola Brandt" in html
    assert "Threat to Maya in the hallway" in html
    with app.extensions["btam"].stores.case_sessions() as db:
        parties = db.execute(select(CaseParty).where(CaseParty.case_id == case.id)).scalars()
        assert sorted(p.part.value for p in parties) == ["subject", "target", "witness"]
    row = report_row(app, report_id)
    assert row.case_id == case.id and row.outcome.value == "opened_case"
    assert row.triaged_by == world.lead_ben.user_id and row.status.value == "triaged"
    assert (
        row.screen_imminent,
        row.screen_threat_communicated,
        row.screen_someone_in_fear,
        row.screen_has_plan,
        row.screen_manageable_under_plan,
    ) == (False, True, True, True, False)
    _, report = page(app, world, "officer_hal", f"/triage/{report_id}")
    assert f'href="/cases/{case.number}"' in report and "Record the triage" not in report
    [entry] = audit_entries(app, "triage:report:decided")
    assert entry.purpose == "opened_case" and entry.case_id == case.id
    assert [e.case_id for e in audit_entries(app, "case:record:opened")] == [case.id]


def test_a_report_naming_no_subject_needs_one_to_open_a_case(app: Flask, world: World) -> None:
    report_id = seed_report(app, world, people=((Part.TARGET, MAYA),))
    data = {"outcome": "opened_case", "team_id": str(world.team_ids["north"]), "summary": "S."}
    before = row_counts(app)
    refused = decide(app, world, "lead_ben", report_id, data)
    assert refused.status_code == 400
    assert "Name the subject of the new case." in refused.get_data(as_text=True)
    assert row_counts(app) == before and report_row(app, report_id).screen_imminent is None
    done = decide(
        app,
        world,
        "lead_ben",
        report_id,
        {
            **data,
            "subject_kind": "other",
            "subject_given_name": "Pat",
            "subject_family_name": "Doe",
        },
    )
    assert done.status_code == 302
    html = browser_of(app, world, "lead_ben").get(done.headers["Location"]).get_data(as_text=True)
    assert "Pat Doe" in html and "Maya Chen" in html


def test_adding_to_a_case_takes_a_visible_case_of_the_team_only(app: Flask, world: World) -> None:
    seeded = seed_cases(app, world)
    report_id = seed_report(app, world, people=((Part.WITNESS, MAYA),))
    before = row_counts(app)
    for number in (seeded.south, "2099-0001", "<b>1</b>", "../../etc"):
        refused = decide(
            app, world, "lead_ben", report_id, {"outcome": "added_to_case", "case_number": number}
        )
        assert refused.status_code == 400, number
        html = refused.get_data(as_text=True)
        assert "Choose one of your team&#39;s open cases." in html
        assert "<b>1</b>" not in html
    assert row_counts(app) == before and report_row(app, report_id).status.value == "received"
    assert audit_entries(app, "triage:report:decided") == []
    # A well-formed number of a case the actor may not see is recorded as a probe.
    probes = [e for e in audit_entries(app, "access:record:denied") if e.object_type == "case"]
    assert [e.object_id for e in probes] == [seeded.south, "2099-0001"]
    added = decide(
        app,
        world,
        "member_gus",
        report_id,
        {"outcome": "added_to_case", "case_number": seeded.north},
    )
    assert added.status_code == 302 and added.headers["Location"] == f"/cases/{seeded.north}"
    assert "Maya Chen" in page(app, world, "member_gus", f"/cases/{seeded.north}")[1]
    [entry] = audit_entries(app, "triage:report:decided")
    assert entry.purpose == "added_to_case" and entry.actor_id == world.member_gus.user_id


def test_the_suicide_protocol_and_a_documented_dismissal(app: Flask, world: World) -> None:
    self_harm = seed_report(app, world, narrative="She wrote that she wants to die.")
    sent = decide(app, world, "member_gus", self_harm, {"outcome": "suicide_protocol"})
    assert sent.status_code == 302 and sent.headers["Location"] == "/triage/"
    assert (
        "Referred to the suicide-risk protocol"
        in page(app, world, "lead_ben", f"/triage/{self_harm}")[1]
    )

    joke = seed_report(app, world)
    reason = 'Said "bomb" about a <b>test</b>; no plan & no means.'
    for data, message in (
        ({"no_threat_action": "counselor"}, "Give the reason there is no threat."),
        ({"reason": reason}, "Say what was done instead."),
        ({"reason": reason, "no_threat_action": "expel"}, "Not a valid choice"),
    ):
        refused = decide(app, world, "lead_ben", joke, {"outcome": "no_threat", **data})
        assert refused.status_code == 400
        html = refused.get_data(as_text=True)
        assert message in html
        if "reason" in data:  # what was typed is kept, escaped
            assert (
                "Said &#34;bomb&#34; about a &lt;b&gt;test&lt;/b&gt;; no plan &amp; no means."
                in html
            )
    assert report_row(app, joke).status.value == "received"
    done = decide(
        app,
        world,
        "lead_ben",
        joke,
        {"outcome": "no_threat", "no_threat_action": "counselor", "reason": reason},
    )
    assert done.status_code == 302
    _, html = page(app, world, "officer_hal", f"/triage/{joke}")
    assert "No threat: Referred to a counselor" in html
    assert "Said &#34;bomb&#34; about a &lt;b&gt;test&lt;/b&gt;; no plan &amp; no means." in html
    assert "<b>test</b>" not in html
    assert [e.purpose for e in audit_entries(app, "triage:report:decided")] == [
        "suicide_protocol",
        "no_threat",
    ]
    assert reason not in str([vars(e) for e in audit_entries(app, "triage:report:decided")])


def test_a_report_is_triaged_once_and_belongs_to_one_case(app: Flask, world: World) -> None:
    seeded = seed_cases(app, world)
    report_id = seed_report(app, world, people=((Part.SUBJECT, JORDAN),))
    first = decide(
        app,
        world,
        "lead_ben",
        report_id,
        {"outcome": "opened_case", "team_id": str(world.team_ids["north"]), "summary": "A."},
    )
    assert first.status_code == 302
    case_id = report_row(app, report_id).case_id
    before = row_counts(app)
    for data in (
        {"outcome": "added_to_case", "case_number": seeded.north},
        {"outcome": "opened_case", "team_id": str(world.team_ids["north"]), "summary": "B."},
        {"outcome": "no_threat", "no_threat_action": "discipline", "reason": "Changed mind."},
    ):
        again = browser_of(app, world, "member_gus").submit(
            "/triage/", data, action=f"/triage/{report_id}/decide"
        )
        assert again.status_code == 400
        assert "This report has been triaged already." in again.get_data(as_text=True)
    row = report_row(app, report_id)
    assert row.case_id == case_id and row.outcome.value == "opened_case"
    assert row_counts(app) == before
    assert len(audit_entries(app, "triage:report:decided")) == 1


def test_another_schools_report_is_a_recorded_404_for_every_triage_page(
    app: Flask, world: World
) -> None:
    report_id = seed_report(app, world, school="SMS", imminent=True)
    tip_id, _code = seed_tip(app, world, school="SMS")
    lead = browser_of(app, world, "lead_ben")
    token_page = "/triage/"
    posts = {
        f"/triage/{report_id}/decide": {"outcome": "suicide_protocol"},
        f"/triage/{report_id}/acknowledge": {},
        f"/triage/{report_id}/actions": {
            "action": "lockdown",
            "taken_by": "x",
            "taken_at": "2025-01-01 10:00",
        },
        f"/triage/{tip_id}/messages": {"body": "Who are you?"},
    }
    before = row_counts(app)
    assert lead.get(f"/triage/{report_id}").status_code == 404
    assert lead.get(f"/triage/{report_id}/files/1").status_code == 404
    for url, data in posts.items():
        assert lead.submit(token_page, data, action=url).status_code == 404, url
    assert row_counts(app) == before
    row = report_row(app, report_id)
    assert row.status.value == "received" and row.imminent_acknowledged_at is None
    denied = [e for e in audit_entries(app, "access:record:denied") if e.object_type == "report"]
    assert len(denied) == 6
    assert {e.object_id for e in denied} == {str(report_id), str(tip_id)}
    assert {e.actor_id for e in denied} == {world.lead_ben.user_id}
    assert all(e.outcome == "denied" for e in denied)
    # A staff report has no tipster to write to.
    own = seed_report(app, world)
    assert (
        lead.submit("/triage/", {"body": "Hi"}, action=f"/triage/{own}/messages").status_code == 404
    )
    assert [e.purpose for e in audit_entries(app, "access:record:denied")][-1] == "no such tip"
    # Unknown report ids look the same as another school's.
    assert lead.get("/triage/999999").status_code == 404
    assert lead.get(f"/triage/{2**40}").status_code == 404


def test_a_case_cannot_be_opened_for_a_team_that_does_not_cover_the_school(
    app: Flask, world: World
) -> None:
    report_id = seed_report(app, world, people=((Part.SUBJECT, JORDAN),))
    before = row_counts(app)
    for team_id in (str(world.team_ids["south"]), "0", "-5", "2147483647", "abc"):
        refused = decide(
            app,
            world,
            "lead_ben",
            report_id,
            {"outcome": "opened_case", "team_id": team_id, "summary": "S."},
        )
        assert refused.status_code in (400, 403), team_id
    assert row_counts(app) == before and report_row(app, report_id).status.value == "received"


def test_a_huge_team_id_is_refused_as_a_bad_choice_not_a_server_error(
    app: Flask, world: World
) -> None:
    report_id = seed_report(app, world, people=((Part.SUBJECT, JORDAN),))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    for team_id in (str(2**63), "9" * 25):
        refused = decide(
            app,
            world,
            "lead_ben",
            report_id,
            {"outcome": "opened_case", "team_id": team_id, "summary": "S."},
        )
        assert refused.status_code == 400


# --------------------------------------------------------------------------- no team covers it


def test_a_report_for_a_school_no_team_covers_reaches_the_district_wide_fallback(
    app: Flask, world: World
) -> None:
    ctx = system_ctx(app)
    try:
        wes = carry_out(ctx, organisation.create_school(ctx, name="West Elementary", code="WES")).id
    finally:
        ctx.db.close()
    world = with_district_member(app, world, teams=("north",))
    world = World(world.people, {**world.school_ids, "WES": wes}, world.team_ids)
    report_id = seed_report(app, world, school="WES", imminent=True)
    url = f"/triage/{report_id}"
    # The district-wide member of a team: in the queue, on the alert, on the report's page.
    status, queue = page(app, world, "roamer_ivy", "/triage/")
    assert status == 200 and f'href="{url}"' in queue
    dashboard = page(app, world, "roamer_ivy", "/dashboard")[1]
    assert ALERT in dashboard and f'href="{url}"' in dashboard
    assert page(app, world, "roamer_ivy", url)[0] == 200
    # The school teams see none of it.
    for who in ("lead_ben", "member_gus", "outsider_dee"):
        assert f'href="{url}"' not in page(app, world, who, "/triage/")[1], who
        assert ALERT not in page(app, world, who, "/dashboard")[1], who
        assert page(app, world, who, url)[0] == 404, who
    # The district administrator is told which school no team covers and what waits there.
    admin = page(app, world, "admin_fay", "/admin/")[1]
    assert "No active team covers this school." in admin
    assert "West Elementary (WES): 1 report waiting for triage" in admin
    assert "North High School (NHS)" not in admin

    # Once a team covers the school, the report is that team's (for the members whose
    # schools include it), no longer the fallback's, and the warning goes.
    ctx = system_ctx(app)
    try:
        south = organisation.get_team(ctx, world.team_ids["south"])
        carry_out(
            ctx,
            organisation.update_team(
                ctx,
                team_id=south.id,
                data=organisation.TeamData(
                    name=south.name,
                    school_ids=(*south.school_ids, wes),
                    member_ids=south.member_ids,
                ),
            ),
        )
    finally:
        ctx.db.close()
    assert f'href="{url}"' not in page(app, world, "roamer_ivy", "/triage/")[1]
    assert page(app, world, "roamer_ivy", url)[0] == 404
    assert 'id="uncovered"' not in page(app, world, "admin_fay", "/admin/")[1]
