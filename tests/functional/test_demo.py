"""``btam demo``: the district, its accounts, the team's fictional cases and its reports and
tips, loaded once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, time

import pytest
from flask import Flask
from sqlalchemy import func, select

from btam.access.actor import Role
from btam.access.record_classes import RecordClass
from btam.accounts.models import User
from btam.accounts.signin import actor_for
from btam.audit import trail
from btam.audit.context import AuditContext
from btam.cases.models import (
    Assignment,
    Attachment,
    Case,
    CaseMember,
    CaseParty,
    EmergencyGrant,
    Note,
)
from btam.cases.services import page
from btam.cases.services.guard import load_case
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext, carry_out
from btam.demo import ACCOUNTS, OFFICER_AGENCY, DemoResult, load_demo
from btam.demo.cases import CASES, TYLER
from btam.demo.intake import REPORTS, TIPS
from btam.errors import AccessDenied
from btam.intake.models import (
    Report,
    ReportAction,
    ReportAttachment,
    ReportPerson,
    TipAccess,
    TipMessage,
)
from btam.intake.services import reports as report_services
from btam.intake.services import tips, triage
from btam.intake.terms import Channel, ImmediateAction, ReportStatus, TriageOutcome
from btam.people.models import Disclosure, Person
from btam.people.services import disclosures
from btam.people.services import records as people_records
from btam.people.services.matching import PersonData
from btam.people.terms import DisclosureBasis, Part, PersonKind
from btam.plans.referral_models import Referral
from btam.plans.referral_terms import ReferralStatus
from btam.plans.services import calendar, notifications, referrals
from btam.plans.services.view import plan_view
from btam.plans.terms import Aim
from tests.support.personas import enrol
from tests.support.web import Browser

PASSWORD = "correct horse battery staple 42"
TABLES = (Case, CaseParty, CaseMember, Person, Note, Attachment, Assignment, Disclosure)
INTAKE_TABLES = (Report, ReportPerson, ReportAttachment, ReportAction, TipAccess, TipMessage)


@contextmanager
def system(app: Flask) -> Iterator[ServiceContext]:
    rt = app.extensions["btam"]
    db = rt.stores.case_sessions()
    try:
        yield rt.context(db, AuditContext.system())
    finally:
        db.close()


@contextmanager
def acting_as(app: Flask, username: str) -> Iterator[ServiceContext]:
    rt = app.extensions["btam"]
    db = rt.stores.case_sessions()
    try:
        user = db.execute(select(User).where(User.username == username)).scalar_one()
        actor = actor_for(user, "")
        audit_ctx = AuditContext(
            actor_id=user.id, actor_role=str(user.role), request_id=None, client_address=None
        )
        yield rt.context(db, audit_ctx, actor)
    finally:
        db.close()


def counts(app: Flask) -> dict[str, int]:
    with system(app) as ctx:
        found = {
            table.__tablename__: ctx.db.execute(
                select(func.count()).select_from(table)
            ).scalar_one()
            for table in (*TABLES, *INTAKE_TABLES, EmergencyGrant, User)
        }
    with acting_as(app, "auditor.mensah") as ctx:
        found["emergency grants to review"] = len(trail.grant_queue(ctx))
    return found


@pytest.fixture
def demo(app: Flask) -> DemoResult:
    with system(app) as ctx:
        return load_demo(ctx, password=PASSWORD)


def test_a_second_run_adds_nothing(app: Flask, demo: DemoResult) -> None:
    # The demo cases, and the one opened at the triage of a demo report.
    assert len(demo.cases) == len(CASES) + 1 and len(demo.created) == len(ACCOUNTS)
    assert demo.tip_code is not None
    before = counts(app)
    assert before["reports"] == len(REPORTS) + len(TIPS)
    with system(app) as ctx:
        again = load_demo(ctx, password=PASSWORD)
    assert again.cases == () and again.created == () and again.tip_code is None
    assert counts(app) == before


def test_the_cases_are_at_every_stage_and_level(app: Flask, demo: DemoResult) -> None:
    with system(app) as ctx:
        rows = ctx.db.execute(select(Case).order_by(Case.opened_at)).scalars().all()
        assert [c.number for c in rows] == sorted(demo.cases)
        assert {c.status for c in rows} == set(CaseStatus)
        assert {"low", "moderate", "high"} <= {c.level for c in rows}
        closed = [c for c in rows if c.status is CaseStatus.CLOSED]
        assert closed and all(c.closed_at is not None for c in closed)
        # Weeks of work, not one day (the case opened at triage today may share a date).
        assert len({c.opened_at.date() for c in rows}) >= len(CASES)
        subjects = ctx.db.execute(
            select(Person.kind).join(CaseParty).where(CaseParty.part == Part.SUBJECT)
        ).scalars()
        assert set(subjects) == set(PersonKind)
        parts = set(ctx.db.execute(select(CaseParty.part)).scalars())
        assert {Part.TARGET, Part.WITNESS, Part.PARENT, Part.REPORTER} <= parts


def test_notes_of_all_three_classes_and_summaries_for_the_team(
    app: Flask, demo: DemoResult
) -> None:
    with system(app) as ctx:
        notes = ctx.db.execute(select(Note)).scalars().all()
        authors = {u.id: u.username for u in ctx.db.execute(select(User)).scalars()}
        by_class = {k: [n for n in notes if n.record_class is k] for k in RecordClass}
        assert all(by_class.values())
        assert all(
            n.team_summary
            for k in RecordClass
            if k is not RecordClass.EDUCATION
            for n in by_class[k]
        )
        assert {authors[n.author_id] for n in by_class[RecordClass.COUNSELING]} == {
            "psych.lindqvist"
        }
        assert {authors[n.author_id] for n in by_class[RecordClass.LAW_ENFORCEMENT]} == {
            "sro.reyes"
        }
        assert "lead.okafor" in {authors[n.author_id] for n in by_class[RecordClass.EDUCATION]}
        files = ctx.db.execute(select(Attachment)).scalars().all()
        assert files and {f.content_type for f in files} == {"text/plain"}
        officer = ctx.db.execute(select(User).where(User.username == "sro.reyes")).scalar_one()
        assert officer.agency == OFFICER_AGENCY


def test_the_lead_reads_education_notes_and_the_summaries_only(
    app: Flask, demo: DemoResult
) -> None:
    with acting_as(app, "lead.okafor") as ctx:
        assert len(page.list_cases(ctx).items) == len(demo.cases)
        for number in demo.cases:
            view = page.view_case(ctx, number)
            for note in view.notes:
                readable = note.record_class is RecordClass.EDUCATION
                assert (note.body is not None) == readable
                assert readable or note.team_summary


def test_one_student_is_found_in_two_cases(app: Flask, demo: DemoResult) -> None:
    with acting_as(app, "lead.okafor") as ctx:
        matches = people_records.search_people(
            ctx, PersonData(kind=PersonKind.STUDENT, student_number=TYLER.student_number)
        )
    assert len(matches) == 1
    assert [part for _number, part, _status in matches[0].cases] == [Part.SUBJECT] * 2
    assert {status for _n, _p, status in matches[0].cases} == {
        CaseStatus.CLOSED,
        CaseStatus.MANAGEMENT,
    }


def test_a_disclosure_and_an_emergency_grant_for_the_auditor(app: Flask, demo: DemoResult) -> None:
    with system(app) as ctx:
        grant = ctx.db.execute(select(EmergencyGrant)).scalar_one()
        holder = ctx.db.get(User, grant.user_id)
        assert holder is not None and holder.username == "ap.chen"
        assert grant.expires_at > ctx.now and grant.ended_at is None
        rows = ctx.db.execute(select(Disclosure)).scalars().all()
        # The referrals sent outside the school recorded theirs; one was recorded by hand.
        sent = {r.disclosure_id for r in ctx.db.execute(select(Referral)).scalars()}
        consent = [d for d in rows if d.basis is DisclosureBasis.PARENT_CONSENT]
        by_hand = [d for d in consent if d.id not in sent]
        assert len(by_hand) == 1 and not by_hand[0].is_emergency
        assert len(consent) - len(by_hand) == 3
        emergencies = [d for d in rows if d.is_emergency]
        parties = ctx.db.execute(
            select(func.count()).select_from(CaseParty).where(CaseParty.case_id == grant.case_id)
        ).scalar_one()
        assert len(emergencies) == parties
        assert all(d.emergency_grant_id == grant.id for d in emergencies)
    with acting_as(app, "auditor.mensah") as ctx:
        queue = trail.grant_queue(ctx)
        assert len(queue) == 1 and not queue[0].reviewed
        assert len(disclosures.list_disclosures(ctx)) == len(rows)
    with acting_as(app, "ap.chen") as ctx:
        view = page.view_case(ctx, ctx.db.get(Case, grant.case_id).number)  # type: ignore[union-attr]
        assert view.by_emergency_grant
        assert {n.record_class for n in view.notes if n.body} == {RecordClass.EDUCATION}


def test_the_counselor_sees_one_case_header_its_item_and_its_log(
    app: Flask, demo: DemoResult
) -> None:
    with acting_as(app, "counselor.ng") as ctx:
        headers = page.list_cases(ctx).items
        assert len(headers) == 1
        loaded = page.visit(ctx, headers[0].number)
        view = page.case_view(ctx, loaded)
        plan = plan_view(ctx, loaded)
    assert not view.full and view.summary is None and view.notes == []
    assert not plan.full and len(plan.items) == 1 and "check-in" in plan.items[0].description
    # Its own log, private notes included (it wrote them), each with a summary for the team.
    assert len(plan.log) == 3 and all(e.summary and e.private_notes for e in plan.log)


def test_the_demo_plans_aim_at_subjects_targets_and_the_environment(
    app: Flask, demo: DemoResult
) -> None:
    with acting_as(app, "lead.okafor") as ctx:
        statuses = {h.number: h.status for h in page.list_cases(ctx).items}
        plans = {n: plan_view(ctx, load_case(ctx, n)) for n in statuses}
    aims = {i.aim for p in plans.values() for i in p.items}
    assert {a.label for a in Aim} <= aims
    assert any(i.target for p in plans.values() for i in p.items)
    assert CaseStatus.MONITORING in statuses.values() and CaseStatus.CLOSED in statuses.values()
    # The lead (an administrator) reads the counselor's summaries, not its private notes.
    logs = [e for p in plans.values() for e in p.log]
    assert len(logs) == 3 and all(e.summary and e.private_notes is None for e in logs)
    closed = next(n for n, s in statuses.items() if s is CaseStatus.CLOSED and plans[n].items)
    assert [r.final for r in plans[closed].reviews][-1] is True
    with acting_as(app, "psych.lindqvist") as ctx:
        number = next(n for n, p in plans.items() if p.log)
        assert all(e.private_notes for e in plan_view(ctx, load_case(ctx, number)).log)


@pytest.mark.parametrize(
    ("username", "visible"),
    [
        ("lead.okafor", 7),  # the six demo cases and the one opened at triage
        ("psych.lindqvist", 7),
        ("sro.reyes", 7),
        ("ap.chen", 5),  # the four RHS cases, and the CPMS case of her emergency grant
        ("teacher.haddad", 4),  # the three CPMS cases, and the RHS case he was added to
        ("counselor.ng", 1),
    ],
)
def test_who_sees_which_cases(app: Flask, demo: DemoResult, username: str, visible: int) -> None:
    with acting_as(app, username) as ctx:
        assert len(page.list_cases(ctx).items) == visible


# --------------------------------------------------------------------------- intake


def reports(ctx: ServiceContext) -> list[Report]:
    return list(ctx.db.execute(select(Report).order_by(Report.id)).scalars())


def usernames(ctx: ServiceContext) -> dict[int, str]:
    return {u.id: u.username for u in ctx.db.execute(select(User)).scalars()}


def test_reports_from_the_demo_accounts_through_several_channels_and_tips(
    app: Flask, demo: DemoResult
) -> None:
    with system(app) as ctx:
        rows = reports(ctx)
        names = usernames(ctx)
        staff_reports = [r for r in rows if r.channel is not Channel.ANONYMOUS_TIP]
        tips = [r for r in rows if r.channel is Channel.ANONYMOUS_TIP]
        assert len({r.channel for r in staff_reports}) >= 5
        assert all(r.reporter_id is not None and r.category is None for r in staff_reports)
        assert {"teacher.brooks", "teacher.haddad"} <= {
            names[r.reporter_id] for r in staff_reports if r.reporter_id
        }
        # Tips: no account behind them, several categories, each with its follow-up code.
        assert all(r.reporter_id is None for r in tips)
        assert len({r.category for r in tips}) == len(tips) >= 4
        assert ctx.db.execute(select(func.count(TipAccess.id))).scalar_one() == len(tips)
        confidential = [r for r in rows if r.reporter_confidential]
        assert len(confidential) == 1 and names[confidential[0].reporter_id or 0] == (
            "teacher.brooks"
        )
        # Dated back: received over more than a week, each due one school day later.
        assert len({r.received_at.date() for r in rows}) >= 5
        assert all(r.due_at == calendar.school_days_after(ctx, r.received_at) for r in rows)
        assert ctx.db.execute(select(ReportAttachment)).scalars().all()


def test_every_triage_outcome_with_what_it_needs(app: Flask, demo: DemoResult) -> None:
    with system(app) as ctx:
        rows = reports(ctx)
        triaged = [r for r in rows if r.status is ReportStatus.TRIAGED]
        assert {r.outcome for r in triaged} == set(TriageOutcome)
        assert all(r.triaged_at and r.triaged_at > r.received_at for r in triaged)
        for r in triaged:
            assert all(
                getattr(r, name) is not None
                for name in ("screen_imminent", "screen_someone_in_fear")
            )
        dismissed = [r for r in triaged if r.outcome is TriageOutcome.NO_THREAT]
        assert dismissed and all(r.outcome_reason and r.no_threat_action for r in dismissed)
        (opened,) = [r for r in triaged if r.outcome is TriageOutcome.OPENED_CASE]
        (added,) = [r for r in triaged if r.outcome is TriageOutcome.ADDED_TO_CASE]
        new_case = ctx.db.get(Case, opened.case_id)
        joined = ctx.db.get(Case, added.case_id)
        assert new_case is not None and joined is not None
        assert new_case.status is CaseStatus.ASSESSMENT and new_case.number == demo.cases[-1]
        # Added to one of the demo cases, opened long before the report came in.
        assert joined.number in demo.cases[:-1] and joined.opened_at < added.received_at
        report_people = set(
            ctx.db.execute(
                select(ReportPerson.person_id).where(ReportPerson.report_id == added.id)
            ).scalars()
        )
        parties = set(
            ctx.db.execute(
                select(CaseParty.person_id).where(CaseParty.case_id == joined.id)
            ).scalars()
        )
        assert report_people and report_people <= parties  # found again by blind index
        suicide = [r for r in triaged if r.outcome is TriageOutcome.SUICIDE_PROTOCOL]
        assert suicide and suicide[0].case_id is None


def test_one_imminent_alert_handled_and_one_waiting(app: Flask, demo: DemoResult) -> None:
    with system(app) as ctx:
        imminent = [r for r in reports(ctx) if r.imminent]
        handled = [r for r in imminent if r.imminent_acknowledged_at is not None]
        waiting = [r for r in imminent if r.imminent_acknowledged_at is None]
        assert len(handled) == 1 and len(waiting) == 1
        assert waiting[0].status is ReportStatus.RECEIVED
        assert usernames(ctx)[handled[0].imminent_acknowledged_by or 0] == "lead.okafor"
        actions = ctx.db.execute(
            select(ReportAction.action).where(ReportAction.report_id == handled[0].id)
        ).scalars()
        assert set(actions) == set(ImmediateAction)
        waiting_id = waiting[0].id
    with acting_as(app, "lead.okafor") as ctx:
        assert [a[0] for a in triage.imminent_alerts(ctx)] == [waiting_id]


@pytest.mark.parametrize(
    ("username", "queue", "alerts"),
    [
        ("lead.okafor", 7, 1),
        ("psych.lindqvist", 7, 1),
        ("sro.reyes", 7, 1),
        ("ap.chen", 2, 0),  # RHS only: the alert is at CPMS
        ("teacher.haddad", 5, 1),  # CPMS only
        ("counselor.ng", None, 0),  # not on the team: no queue, no alert
        ("teacher.brooks", None, 0),
    ],
)
def test_who_sees_the_queue_and_the_alert(
    app: Flask, demo: DemoResult, username: str, queue: int | None, alerts: int
) -> None:
    with acting_as(app, username) as ctx:
        assert len(triage.imminent_alerts(ctx)) == alerts
        if queue is None:
            with pytest.raises(AccessDenied):
                triage.queue(ctx)
        else:
            assert len(triage.queue(ctx).items) == queue


def test_the_queue_shows_ages_and_earlier_history(app: Flask, demo: DemoResult) -> None:
    with acting_as(app, "lead.okafor") as ctx:
        items = triage.queue(ctx).items
        assert [i.received_at for i in items] == sorted(i.received_at for i in items)
        overdue = [i for i in items if i.overdue]
        assert 2 <= len(overdue) < len(items)
        with_history = [i for i in items if i.earlier]
        assert len(with_history) >= 3
        kinds = {h.kind for i in with_history for h in triage.view_report(ctx, i.id).history}
        assert kinds == {"case", "report"}  # earlier cases, and an earlier dismissed report
        tyler = next(i for i in items if f"{TYLER.given} {TYLER.family}" in i.subjects)
        assert tyler.earlier >= 2


def test_only_the_lead_knows_the_confidential_reporter(app: Flask, demo: DemoResult) -> None:
    with system(app) as ctx:
        report_id = next(r.id for r in reports(ctx) if r.reporter_confidential)
    with acting_as(app, "lead.okafor") as ctx:
        assert triage.view_report(ctx, report_id).reporter == "Evelyn Brooks"
    for username in ("psych.lindqvist", "sro.reyes", "teacher.haddad"):
        with acting_as(app, username) as ctx:
            view = triage.view_report(ctx, report_id)
            assert view.reporter is None and view.reporter_confidential


def test_a_tip_with_a_conversation_the_tipster_reads_with_its_code(
    app: Flask, demo: DemoResult
) -> None:
    assert demo.tip_code is not None
    with system(app) as ctx:
        thread = carry_out(ctx, tips.follow_up(ctx, demo.tip_code, client=None))
    assert thread.status is ReportStatus.TRIAGED
    senders = [m.from_tipster for m in thread.messages]
    assert senders == [False, True, False, True]
    with system(app) as ctx:
        authors = set(
            ctx.db.execute(
                select(TipMessage.author_id).where(TipMessage.from_tipster.is_(False))
            ).scalars()
        )
        assert {usernames(ctx)[a or 0] for a in authors} == {"psych.lindqvist"}


def test_a_teacher_sees_only_the_status_of_her_own_reports(app: Flask, demo: DemoResult) -> None:
    with acting_as(app, "teacher.brooks") as ctx:
        mine = report_services.my_reports(ctx)
    assert len(mine) == 2 and {r.status for r in mine} == {ReportStatus.RECEIVED}
    with acting_as(app, "teacher.haddad") as ctx:
        mine = report_services.my_reports(ctx)
    assert {r.status for r in mine} == {ReportStatus.RECEIVED, ReportStatus.TRIAGED}


@pytest.mark.parametrize(
    ("username", "banner"),
    [
        ("lead.okafor", True),
        ("teacher.haddad", True),
        ("ap.chen", False),
        ("teacher.brooks", False),
    ],
)
def test_the_red_alert_heads_the_pages_of_the_team_covering_its_school(
    app: Flask, demo: DemoResult, username: str, banner: bool
) -> None:
    with system(app) as ctx:
        user = ctx.db.execute(select(User).where(User.username == username)).scalar_one()
        waiting = next(r.id for r in reports(ctx) if r.imminent and not r.imminent_acknowledged_at)
        needs_code = user.role is not Role.STAFF
    browser = Browser(app.test_client())
    secret = enrol(app, user.id) if needs_code else None
    signed_in = browser.sign_in(username, PASSWORD, totp_secret=secret)
    assert signed_in.headers["Location"].endswith("/dashboard")
    page = browser.get("/dashboard").get_data(as_text=True)
    assert ('class="alert-imminent"' in page) == banner
    assert (f"Report #{waiting}," in page) == banner


def test_referrals_at_several_statuses_and_notifications_recorded_and_outstanding(
    app: Flask, demo: DemoResult
) -> None:
    with system(app) as ctx:
        rows = list(ctx.db.execute(select(Referral).order_by(Referral.id)).scalars())
        statuses = sorted(r.status for r in rows)
        assert statuses == sorted(
            [ReferralStatus.COMPLETED, ReferralStatus.DECLINED, ReferralStatus.SENT]
        )
        declined = next(r for r in rows if r.status is ReferralStatus.DECLINED)
        assert declined.outcome and "full" in declined.outcome
        assert all(r.disclosure_id is not None for r in rows)
    with acting_as(app, "lead.okafor") as ctx:
        [follow_up] = referrals.referrals_to_follow_up(ctx)
        assert follow_up.overdue
        owed = notifications.outstanding_notifications(ctx)
        # Aiden Park and his parents, in the gun case; the rest is recorded.
        assert len(owed) == 2 and all("Aiden Park" in o.text for o in owed)
        cases = {c.number: c for c in page.list_cases(ctx).items}
        gun = ctx.db.execute(select(Case).where(Case.number == owed[0].case_number)).scalar_one()
        assert gun.number in cases
        assert len(notifications.outstanding_notifications_of(ctx, gun)) == 2
        tyler_case = ctx.db.execute(
            select(Case).where(Case.number == follow_up.case_number)
        ).scalar_one()
        assert notifications.outstanding_notifications_of(ctx, tyler_case) == []
        assert len(referrals.open_referrals(ctx, tyler_case)) == 1


@pytest.mark.parametrize("hour", [0, 3, 5])
def test_the_demo_loads_while_utc_is_already_the_districts_tomorrow(app: Flask, hour: int) -> None:
    # From midnight to 05:00 or 06:00 UTC it is still the evening before in Chicago: the
    # demo's days (a session held, a fact learned, a due day) are the district's days.
    moment = datetime.combine(datetime.now(UTC).date(), time(hour, 30), UTC)
    with system(app) as ctx:
        result = load_demo(replace(ctx, now=moment), password=PASSWORD)
    assert len(result.cases) == len(CASES) + 1
