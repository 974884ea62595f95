"""Every list filter against the decision: each ``visible_*`` of a stage's ``scope`` module
keeps exactly the rows that ``allowed(access, act, facts)`` allows, one record at a time.

The filters are found, not listed: every function named ``visible_*`` in ``btam/<stage>/scope.py``.
Each needs an entry in ``DECISIONS``: the model it filters, how the facts of one of its rows
are built (as the services build them), and, for a filter that takes no act, the act it stands
for. A filter without an entry fails by name. For every persona of tests/support/personas.py
(an :class:`Actor` built as a signed-in session builds it, with the grants
``case_repo.active_grants`` finds), every act the filter takes (every :class:`Act`, for a filter
with an ``act`` parameter) and every row of a world seeded with the ORM, the filter and the
decision must agree. The world holds cases of two schools and two teams, of a team at a school
outside its members' scope, under live, expired and ended emergency grants, with members added
and removed; notes and files of every record class by five authors; people in one case or two,
or in none; disclosures; and reports and tips of both schools, some confidential, covered by the
team of the school, by another team whose members' scope lacks the school, and by a disabled
team, each naming a person of its own (seen by whoever may triage the report).
Runs on SQLite, and on PostgreSQL with BTAM_TEST_STORES=postgresql.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

import btam
from btam.access.actor import Discipline, Role
from btam.access.policy import (
    Access,
    Act,
    CaseFacts,
    MeetingFacts,
    RecordFacts,
    ReportFacts,
    allowed,
)
from btam.access.record_classes import RecordClass
from btam.accounts import signin
from btam.accounts.models import District, School, Team, User, team_members, team_schools
from btam.assessment.models import Fact
from btam.assessment.terms import FactSource
from btam.cases import repository as case_repo
from btam.cases.models import (
    Attachment,
    Case,
    CaseMember,
    CaseParty,
    EmergencyGrant,
    Note,
)
from btam.cases.scope import visible_attachments, visible_cases, visible_notes
from btam.cases.terms import CaseStatus
from btam.intake import repository as intake_repo
from btam.intake.models import Report, ReportPerson
from btam.intake.scope import visible_reports
from btam.intake.terms import Channel
from btam.meetings import repository as meetings_repo
from btam.meetings.models import Attendee, Meeting
from btam.meetings.terms import MeetingKind
from btam.people.models import Disclosure, Person
from btam.people.scope import visible_disclosures, visible_people
from btam.people.terms import DisclosureBasis, Part, PersonKind
from btam.plans.models import PlanItem
from btam.plans.terms import Aim, Intervention
from tests.support.personas import World, system_ctx

ACTS = (Act.VIEW_HEADER, Act.VIEW_CASE, Act.VIEW_DISCLOSURES)
AUTHORS = ("lead_ben", "member_gus", "officer_hal", "counselor_ana", "outsider_dee")


@dataclass(frozen=True)
class CaseSpec:
    """A case to seed: where it is, and each persona's part in it."""

    number: str
    school: str
    team: str
    lead: str | None
    members: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()  # members whose membership ended (removed_at set)
    assignees: tuple[str, ...] = ()
    active_grants: tuple[str, ...] = ()
    expired_grants: tuple[str, ...] = ()
    ended_grants: tuple[str, ...] = ()  # ended early by the lead (ended_at set)
    closed: bool = False


SPECS = (
    # A North team case at North High: the counselor has work on it; Dee was a member once.
    CaseSpec(
        "2026-0001",
        "NHS",
        "north",
        "lead_ben",
        removed=("outsider_dee",),
        assignees=("counselor_ana",),
    ),
    # A South team case: Gus and Ana work it as members, Hal was removed; Ben (who leads
    # another team) and Cam (staff: nothing) have work on it.
    CaseSpec(
        "2026-0002",
        "SMS",
        "south",
        "outsider_dee",
        members=("member_gus", "counselor_ana"),
        removed=("officer_hal",),
        assignees=("lead_ben", "teacher_cam"),
    ),
    # A South team case opened to outsiders by emergency grants, live, expired and ended.
    CaseSpec(
        "2026-0003",
        "SMS",
        "south",
        "outsider_dee",
        active_grants=("lead_ben", "counselor_ana", "auditor_eve", "teacher_cam"),
        expired_grants=("officer_hal",),
        ended_grants=("member_gus",),
    ),
    # A closed North case without a lead; roles without case content made members.
    CaseSpec(
        "2026-0004",
        "NHS",
        "north",
        None,
        members=("teacher_cam", "admin_fay", "auditor_eve"),
        removed=("counselor_ana",),
        closed=True,
    ),
    # The North team's case at a school outside its members' scope (NHS only).
    CaseSpec("2026-0005", "SMS", "north", None, assignees=("member_gus",)),
    # A South team case the mental-health and law-enforcement members read under live grants.
    CaseSpec(
        "2026-0006", "SMS", "south", "outsider_dee", active_grants=("member_gus", "officer_hal")
    ),
)


@dataclass(frozen=True)
class ReportSpec:
    """A report or tip waiting for triage."""

    school: str
    reporter: str | None  # None: an anonymous tip
    confidential: bool = False


REPORTS = (
    ReportSpec("NHS", "teacher_cam"),
    ReportSpec("NHS", "member_gus", confidential=True),
    ReportSpec("NHS", None),
    # South Middle: the South team's, and the North team's too (see ``_cover``), though its
    # members' scope is North High only.
    ReportSpec("SMS", "teacher_cam", confidential=True),
    ReportSpec("SMS", "lead_ben"),
    ReportSpec("SMS", None),
)


@dataclass
class Seeded:
    db: Session
    now: datetime
    world: World
    case_ids: dict[str, int] = field(default_factory=dict)
    facts: dict[int, CaseFacts] = field(default_factory=dict)
    grants: dict[str, frozenset[int]] = field(default_factory=dict)
    # person id -> the cases it is a party to
    parties: dict[int, frozenset[int]] = field(default_factory=dict)
    disclosure_person: dict[int, int] = field(default_factory=dict)

    def uid(self, persona: str) -> int:
        return self.world.people[persona].user_id

    def access(self, persona: str) -> Access:
        user = self.db.get(User, self.uid(persona))
        assert user is not None
        actor = signin.actor_for(user, "")
        return Access(actor, case_repo.active_grants(self.db, actor.user_id, self.now))

    def ids(
        self, model: type[Case | Person | Disclosure | Note | Attachment | Report], where: object
    ) -> set[int]:
        assert isinstance(where, ColumnElement)
        return set(self.db.execute(select(model.id).where(where)).scalars())


def _seed(db: Session, world: World, now: datetime) -> Seeded:
    seeded = Seeded(db, now, world)
    uid = seeded.uid
    district = db.execute(select(District)).scalar_one()
    grants: dict[str, set[int]] = {name: set() for name in world.people}
    shared = Person(
        district_id=district.id,
        kind=PersonKind.STUDENT,
        school_id=world.school_ids["NHS"],
        given_name="Shared",
        family_name="Student",
    )
    orphan = Person(district_id=district.id, kind=PersonKind.OTHER, given_name="No Case")
    db.add_all([shared, orphan])
    db.flush()
    party_of: dict[int, set[int]] = {shared.id: set(), orphan.id: set()}

    for spec in SPECS:
        case = Case(
            district_id=district.id,
            number=spec.number,
            school_id=world.school_ids[spec.school],
            team_id=world.team_ids[spec.team],
            lead_id=uid(spec.lead) if spec.lead else None,
            status=CaseStatus.CLOSED if spec.closed else CaseStatus.ASSESSMENT,
            closed_at=now if spec.closed else None,
            summary=f"summary of {spec.number}",
            opened_at=now - timedelta(days=3),
        )
        db.add(case)
        db.flush()
        seeded.case_ids[spec.number] = case.id
        for name in spec.members:
            db.add(CaseMember(case_id=case.id, user_id=uid(name), added_at=now))
        for name in spec.removed:
            db.add(
                CaseMember(
                    case_id=case.id,
                    user_id=uid(name),
                    added_at=now - timedelta(days=2),
                    removed_at=now - timedelta(days=1),
                )
            )
        for name in spec.assignees:
            db.add(
                PlanItem(
                    case_id=case.id,
                    intervention=Intervention.OTHER,
                    aim=Aim.SUBJECT,
                    owner_id=uid(name),
                    description="check in daily",
                )
            )
        windows = (
            (spec.active_grants, now + timedelta(hours=4), None),
            (spec.expired_grants, now - timedelta(hours=1), None),
            (spec.ended_grants, now + timedelta(hours=4), now - timedelta(minutes=30)),
        )
        for names, expires_at, ended_at in windows:
            for name in names:
                db.add(
                    EmergencyGrant(
                        case_id=case.id,
                        user_id=uid(name),
                        threat="a student said he would bring a gun on Friday",
                        parties="the North High principal",
                        granted_at=now - timedelta(hours=2),
                        expires_at=expires_at,
                        ended_at=ended_at,
                    )
                )
        for name in spec.active_grants:
            grants[name].add(case.id)
        for klass in RecordClass:
            for author in AUTHORS:
                db.add(
                    Note(
                        case_id=case.id,
                        author_id=uid(author),
                        record_class=klass,
                        body=f"{klass.value} note by {author}",
                        team_summary=None if klass is RecordClass.EDUCATION else "summary",
                    )
                )
                attachment = Attachment(
                    case_id=case.id,
                    author_id=uid(author),
                    record_class=klass,
                    filename=f"{klass.value}-{author}.txt",
                    content_type="text/plain",
                )
                attachment.content = f"{klass.value} file by {author}".encode()
                db.add(attachment)
                db.add(
                    Fact(
                        case_id=case.id,
                        author_id=uid(author),
                        record_class=klass,
                        source=FactSource.OBSERVATION,
                        learned_on=now.date(),
                        statement=f"{klass.value} fact by {author}",
                        team_summary=None if klass is RecordClass.EDUCATION else "summary",
                    )
                )
        subject = Person(
            district_id=district.id,
            kind=PersonKind.STUDENT,
            school_id=case.school_id,
            given_name="Subject",
            family_name=spec.number,
        )
        db.add(subject)
        db.flush()
        db.add(CaseParty(case_id=case.id, person_id=subject.id, part=Part.SUBJECT))
        party_of[subject.id] = {case.id}
        seeded.facts[case.id] = CaseFacts(
            case_id=case.id,
            school_id=case.school_id,
            team_id=case.team_id,
            lead_id=case.lead_id,
            member_ids=frozenset(uid(n) for n in spec.members),
            assignee_ids=frozenset(uid(n) for n in spec.assignees),
        )

    # One student in two cases of two teams (a target here, a witness there).
    for number, part in (("2026-0001", Part.TARGET), ("2026-0003", Part.WITNESS)):
        case_id = seeded.case_ids[number]
        db.add(CaseParty(case_id=case_id, person_id=shared.id, part=part))
        party_of[shared.id].add(case_id)
    db.flush()

    # Every person's record of disclosures: one entry each, two for the shared student.
    entries: list[tuple[int, int | None]] = [
        (pid, min(cases, default=None)) for pid, cases in party_of.items()
    ]
    entries.append((shared.id, seeded.case_ids["2026-0003"]))
    for person_id, on_case in entries:
        disclosure = Disclosure(
            person_id=person_id,
            case_id=on_case,
            basis=DisclosureBasis.HEALTH_SAFETY_EMERGENCY,
            recipient="county sheriff",
            interest="imminent threat",
            threat="said he would bring a gun",
            parties="sheriff, principal",
            is_emergency=True,
            disclosed_at=now - timedelta(hours=1),
        )
        db.add(disclosure)
        db.flush()
        seeded.disclosure_person[disclosure.id] = person_id
    _cover(db, world, district.id)
    _meetings(db, world, now)
    for n, spec in enumerate(REPORTS):
        report = Report(
            district_id=district.id,
            school_id=world.school_ids[spec.school],
            channel=Channel.STAFF if spec.reporter else Channel.ANONYMOUS_TIP,
            received_at=now - timedelta(hours=5),
            due_at=now + timedelta(hours=19),
            reporter_id=uid(spec.reporter) if spec.reporter else None,
            reporter_confidential=spec.confidential,
            narrative="said he would bring a knife",
        )
        named = Person(district_id=district.id, kind=PersonKind.STUDENT, given_name=f"Named {n}")
        db.add_all([report, named])
        db.flush()
        db.add(ReportPerson(report_id=report.id, person_id=named.id, part=Part.SUBJECT))
    db.commit()

    seeded.parties = {pid: frozenset(cases) for pid, cases in party_of.items()}
    seeded.grants = {name: frozenset(ids) for name, ids in grants.items()}
    return seeded


def _meetings(db: Session, world: World, now: datetime) -> None:
    """A meeting of each team and of the disabled one: the North team's has member_gus
    present and counselor_ana and outsider_dee as guests; the South team's has lead_ben (who
    leads another team) as a guest; the disabled team's has no one."""
    uid = {name: p.user_id for name, p in world.people.items()}
    former = db.execute(select(Team.id).where(Team.name == "Former Team")).scalar_one()
    guests = {
        world.team_ids["north"]: (
            ("member_gus", False),
            ("counselor_ana", True),
            ("outsider_dee", True),
        ),
        world.team_ids["south"]: (("lead_ben", True),),
        former: (),
    }
    for team_id, present in guests.items():
        meeting = Meeting(
            team_id=team_id,
            kind=MeetingKind.REGULAR,
            starts_at=now + timedelta(days=1),
            place="Room 1",
            scheduled_by=uid["lead_ben"],
        )
        db.add(meeting)
        db.flush()
        for name, guest in present:
            db.add(
                Attendee(
                    meeting_id=meeting.id, user_id=uid[name], guest=guest, added_by=uid["lead_ben"]
                )
            )
    db.flush()


def _cover(db: Session, world: World, district_id: int) -> None:
    """The North team covers South Middle too (its members' scope stays North High); a
    disabled team covers both schools, with a member of each team."""
    db.execute(
        team_schools.insert().values(
            team_id=world.team_ids["north"], school_id=world.school_ids["SMS"]
        )
    )
    old = Team(district_id=district_id, name="Former Team", is_active=False)
    db.add(old)
    db.flush()
    db.execute(
        team_schools.insert(),
        [{"team_id": old.id, "school_id": world.school_ids[code]} for code in ("NHS", "SMS")],
    )
    db.execute(
        team_members.insert(),
        [
            {"team_id": old.id, "user_id": world.people[n].user_id}
            for n in ("member_gus", "outsider_dee")
        ],
    )


@pytest.fixture
def seeded(app: Flask, world: World) -> Iterator[Seeded]:
    ctx = system_ctx(app)
    try:
        yield _seed(ctx.db, world, ctx.now)
    finally:
        ctx.db.close()


PERSONAS = (
    "admin_fay",
    "lead_ben",
    "member_gus",
    "officer_hal",
    "counselor_ana",
    "teacher_cam",
    "outsider_dee",
    "auditor_eve",
)


def test_the_seed_is_what_the_services_would_see(seeded: Seeded, world: World) -> None:
    """The facts and grants the tests expect are those the repository derives."""
    assert set(world.people) == set(PERSONAS)
    for case_id, expected in seeded.facts.items():
        case = seeded.db.get(Case, case_id)
        assert case is not None
        assert case_repo.facts(seeded.db, case) == expected
    for persona in PERSONAS:
        assert seeded.access(persona).grants == seeded.grants[persona], persona
    note = seeded.db.execute(select(Note).order_by(Note.id).limit(1)).scalar_one()
    seeded.db.expire(note)
    assert note.body is not None and note.body.endswith("note by lead_ben")


# --------------------------------------------------------------------------- every filter


Filter = Callable[..., ColumnElement[bool]]


def scope_filters() -> dict[str, Filter]:
    """Every ``visible_*`` function defined in a stage's ``scope`` module, by dotted name."""
    found: dict[str, Filter] = {}
    for stage in pkgutil.iter_modules(btam.__path__):
        name = f"btam.{stage.name}.scope"
        if not stage.ispkg or importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            # Its own functions only: a filter imported from another stage is counted there.
            defined_here = inspect.isfunction(value) and value.__module__ == name
            if attribute.startswith("visible_") and defined_here:
                found[f"{name}.{attribute}"] = value
    return found


def _case_facts(db: Session, case_id: int) -> CaseFacts:
    case = db.get(Case, case_id)
    assert case is not None
    return case_repo.facts(db, case)


def _record_facts(
    model: type[Note] | type[Attachment] | type[Fact],
) -> Callable[[Session, int], RecordFacts]:
    def facts(db: Session, record_id: int) -> RecordFacts:
        case_id, record_class, author_id = db.execute(
            select(model.case_id, model.record_class, model.author_id).where(model.id == record_id)
        ).one()
        return RecordFacts(_case_facts(db, case_id), RecordClass(record_class), author_id)

    return facts


@dataclass(frozen=True)
class PersonFacts:
    """A person is decided on the cases it is a party to and the reports that name it."""

    cases: tuple[CaseFacts, ...]
    reports: tuple[ReportFacts, ...]


def _person_facts(db: Session, person_id: int) -> PersonFacts:
    cases = db.execute(
        select(CaseParty.case_id).where(CaseParty.person_id == person_id).distinct()
    ).scalars()
    reports = db.execute(
        select(ReportPerson.report_id).where(ReportPerson.person_id == person_id).distinct()
    ).scalars()
    return PersonFacts(
        tuple(_case_facts(db, case_id) for case_id in cases),
        tuple(_report_facts(db, report_id) for report_id in reports),
    )


def _disclosure_facts(db: Session, disclosure_id: int) -> PersonFacts:
    """A disclosure is decided as the person whose record of disclosures holds it."""
    disclosure = db.get(Disclosure, disclosure_id)
    assert disclosure is not None
    return _person_facts(db, disclosure.person_id)


def _report_facts(db: Session, report_id: int) -> ReportFacts:
    report = db.get(Report, report_id)
    assert report is not None
    return intake_repo.report_facts(db, report)


def _meeting_facts(db: Session, meeting_id: int) -> MeetingFacts:
    meeting = db.get(Meeting, meeting_id)
    assert meeting is not None
    return meetings_repo.meeting_facts(db, meeting)


def _on_one_record(access: Access, act: Act, facts: object) -> bool:
    assert isinstance(facts, CaseFacts | RecordFacts | ReportFacts | MeetingFacts)
    return allowed(access, act, facts).allowed


# Who may triage a report sees the header and the record of the people it names; the record
# of disclosures stays the cases' affair.
REPORT_OPENS = frozenset({Act.VIEW_HEADER, Act.VIEW_CASE})


def _on_a_person(access: Access, act: Act, facts: object) -> bool:
    """The role alone (an auditor's record of disclosures), one of the person's cases, or
    (to view it) a report naming it that the actor may triage."""
    assert isinstance(facts, PersonFacts)
    return (
        bool(allowed(access, act, None))
        or any(allowed(access, act, f) for f in facts.cases)
        or (act in REPORT_OPENS and any(allowed(access, Act.TRIAGE, r) for r in facts.reports))
    )


@dataclass(frozen=True)
class Decided:
    """How the rows a filter keeps are decided one at a time."""

    model: type[Case | Note | Attachment | Person | Disclosure | Report | Meeting]
    facts: Callable[[Session, int], object]  # the facts of one row, as the services build them
    decide: Callable[[Access, Act, object], bool] = _on_one_record
    act: Act | None = None  # for a filter that takes no act: the act it stands for


# One entry per filter: a new ``visible_*`` is not done until it says here how one of its rows
# is decided.
DECISIONS: dict[str, Decided] = {
    "btam.cases.scope.visible_cases": Decided(Case, _case_facts),
    "btam.cases.scope.visible_notes": Decided(Note, _record_facts(Note), act=Act.VIEW_CASE),
    "btam.cases.scope.visible_attachments": Decided(
        Attachment, _record_facts(Attachment), act=Act.VIEW_CASE
    ),
    "btam.assessment.scope.visible_facts": Decided(Fact, _record_facts(Fact), act=Act.VIEW_CASE),
    "btam.people.scope.visible_people": Decided(Person, _person_facts, _on_a_person),
    "btam.people.scope.visible_person": Decided(Person, _person_facts, _on_a_person),
    "btam.people.scope.visible_disclosures": Decided(
        Disclosure, _disclosure_facts, _on_a_person, act=Act.VIEW_DISCLOSURES
    ),
    "btam.intake.scope.visible_reports": Decided(Report, _report_facts),
    "btam.meetings.scope.visible_meetings": Decided(Meeting, _meeting_facts),
}
FILTERS = scope_filters()


def test_the_filters_are_found() -> None:
    """The search finds the filters of every stage that has them, and no entry is stale."""
    stages = {name.split(".")[1] for name in FILTERS}
    assert {"cases", "people", "intake", "assessment"} <= stages
    assert set(DECISIONS) <= set(FILTERS), sorted(set(DECISIONS) - set(FILTERS))


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_every_filter_keeps_what_the_decision_allows(seeded: Seeded, name: str) -> None:
    decided = DECISIONS.get(name)
    assert decided is not None, (
        f"{name} has no entry in DECISIONS: say which model it filters, how the facts of one "
        "of its rows are built, and (if it takes no act) which act it stands for"
    )
    keep = FILTERS[name]
    takes_act = "act" in inspect.signature(keep).parameters
    assert takes_act != (decided.act is not None), f"{name}: an act, or an act parameter"
    acts = tuple(Act) if takes_act else (decided.act,)
    rows = sorted(seeded.db.execute(select(decided.model.id)).scalars())
    facts = {row: decided.facts(seeded.db, row) for row in rows}
    mismatches, answers = [], set()
    for persona in PERSONAS:
        access = seeded.access(persona)
        for act in acts:
            assert act is not None
            clause = keep(access, act) if takes_act else keep(access)
            kept = seeded.ids(decided.model, clause)
            # Lists also use the filter negated (the notes one may not read): with SQL's NULLs,
            # NOT of a filter must still keep exactly the rest.
            rest = seeded.ids(decided.model, ~clause)
            if kept & rest or kept | rest != set(rows):
                mismatches.append(f"{persona} {act.value}: NOT of the filter is not the rest")
            for row in rows:
                may = decided.decide(access, act, facts[row])
                answers.add(may)
                if (row in kept) != may:
                    mismatches.append(
                        f"{persona} {act.value} {decided.model.__name__} {row}: "
                        f"{'kept' if row in kept else 'left out'} by the filter, "
                        f"{'allowed' if may else 'refused'} by the policy"
                    )
    assert not mismatches, f"{name} and the policy disagree:\n" + "\n".join(mismatches)
    assert answers == {True, False}, f"{name}: the world decides every row the same way"


# --------------------------------------------------------------------------- cases


def test_who_sees_which_case(seeded: Seeded) -> None:
    """The agreement above is not vacuous: the seeded cases land where FERPA wants them."""
    n = seeded.case_ids

    def seen(persona: str, act: Act) -> set[str]:
        ids = seeded.ids(Case, visible_cases(seeded.access(persona), act))
        return {number for number, cid in n.items() if cid in ids}

    assert seen("lead_ben", Act.VIEW_HEADER) == {"2026-0001", "2026-0002", "2026-0003", "2026-0004"}
    assert seen("lead_ben", Act.VIEW_CASE) == {"2026-0001", "2026-0003", "2026-0004"}
    assert seen("lead_ben", Act.VIEW_DISCLOSURES) == {"2026-0001", "2026-0004"}
    assert seen("member_gus", Act.VIEW_CASE) == {"2026-0001", "2026-0002", "2026-0004", "2026-0006"}
    # Work on the North team's case at a school outside Gus's scope shows its header only.
    assert "2026-0005" in seen("member_gus", Act.VIEW_HEADER)
    assert seen("officer_hal", Act.VIEW_HEADER) == {"2026-0001", "2026-0004", "2026-0006"}
    assert seen("counselor_ana", Act.VIEW_HEADER) == {"2026-0001", "2026-0002", "2026-0003"}
    assert seen("counselor_ana", Act.VIEW_CASE) == {"2026-0002", "2026-0003"}
    assert seen("outsider_dee", Act.VIEW_CASE) == {"2026-0002", "2026-0003", "2026-0006"}
    for persona in ("admin_fay", "teacher_cam", "auditor_eve"):
        for act in (Act.VIEW_HEADER, Act.VIEW_CASE):
            assert seen(persona, act) == set(), (persona, act)


# --------------------------------------------------------------------------- people, disclosures


def test_only_the_auditor_and_the_team_see_a_record_of_disclosures(seeded: Seeded) -> None:
    every = set(seeded.disclosure_person)
    eve = seeded.ids(Disclosure, visible_disclosures(seeded.access("auditor_eve")))
    assert eve == every  # the person on no case included
    for persona in ("admin_fay", "teacher_cam", "counselor_ana"):
        assert seeded.ids(Disclosure, visible_disclosures(seeded.access(persona))) == set()
    # Ben's grant on case 3 does not open its record of disclosures, but the shared
    # student is also a party to his team's case 1.
    ben = seeded.ids(Disclosure, visible_disclosures(seeded.access("lead_ben")))
    ben_people = {seeded.disclosure_person[d] for d in ben}
    case3_only = {
        p for p, cases in seeded.parties.items() if cases == {seeded.case_ids["2026-0003"]}
    }
    assert ben_people and not ben_people & case3_only


# --------------------------------------------------------------------------- notes, attachments


def _readable(seeded: Seeded, persona: str, number: str) -> set[tuple[str, str]]:
    """(class, author) of the notes of case ``number`` that ``persona`` may read."""
    access = seeded.access(persona)
    rows = seeded.db.execute(
        select(Note.record_class, Note.author_id).where(
            Note.case_id == seeded.case_ids[number], visible_notes(access)
        )
    )
    names = {seeded.uid(p): p for p in PERSONAS}
    return {(RecordClass(k).value, names[a]) for k, a in rows}


def test_each_discipline_reads_its_own_class(seeded: Seeded) -> None:
    education = {("education", a) for a in AUTHORS}
    assert _readable(seeded, "member_gus", "2026-0001") == education | {
        ("counseling", a) for a in AUTHORS
    } | {("law_enforcement", "member_gus")}
    assert _readable(seeded, "officer_hal", "2026-0001") == education | {
        ("law_enforcement", a) for a in AUTHORS
    } | {("counseling", "officer_hal")}
    assert _readable(seeded, "lead_ben", "2026-0001") == education | {
        ("counseling", "lead_ben"),
        ("law_enforcement", "lead_ben"),
    }
    # Gus, a mental-health member of the South case, reads its counseling notes too.
    assert ("counseling", "outsider_dee") in _readable(seeded, "member_gus", "2026-0002")
    # Ana, a counselor member: education and what she wrote, not Gus's counseling notes.
    assert _readable(seeded, "counselor_ana", "2026-0002") == education | {
        ("counseling", "counselor_ana"),
        ("law_enforcement", "counselor_ana"),
    }


def test_an_emergency_grant_reads_education_records_only(seeded: Seeded) -> None:
    education = {("education", a) for a in AUTHORS}
    for persona, number in (
        ("lead_ben", "2026-0003"),
        ("counselor_ana", "2026-0003"),
        # Neither discipline opens its class of record to a grant holder.
        ("member_gus", "2026-0006"),
        ("officer_hal", "2026-0006"),
    ):
        # What the grant holder wrote itself aside, only education records.
        others = {(k, a) for k, a in _readable(seeded, persona, number) if a != persona}
        assert others == {(k, a) for k, a in education if a != persona}, persona
    for persona in ("auditor_eve", "teacher_cam"):  # a grant gives their roles nothing
        assert _readable(seeded, persona, "2026-0003") == set()


# --------------------------------------------------------------------------- lost access


def test_an_expired_or_ended_grant_reads_nothing(seeded: Seeded) -> None:
    case3 = seeded.case_ids["2026-0003"]
    facts = seeded.facts[case3]
    for persona in ("officer_hal", "member_gus"):  # expired; ended early
        access = seeded.access(persona)
        assert case3 not in access.grants
        for act in (Act.VIEW_HEADER, Act.VIEW_CASE):
            assert not allowed(access, act, facts)
            assert case3 not in seeded.ids(Case, visible_cases(access, act))
        assert _readable(seeded, persona, "2026-0003") == set()
        on_case3 = seeded.ids(Attachment, Attachment.case_id == case3)
        assert not on_case3 & seeded.ids(Attachment, visible_attachments(access))
        # Outside again, so a new grant may be asked for.
        assert allowed(access, Act.REQUEST_EMERGENCY, facts)


def test_a_removed_member_has_no_access(seeded: Seeded) -> None:
    for persona, number in (
        ("outsider_dee", "2026-0001"),
        ("officer_hal", "2026-0002"),
        ("counselor_ana", "2026-0004"),
    ):
        access = seeded.access(persona)
        case_id = seeded.case_ids[number]
        facts = seeded.facts[case_id]
        assert seeded.uid(persona) not in facts.member_ids
        for act in ACTS:
            assert not allowed(access, act, facts), (persona, act)
            assert case_id not in seeded.ids(Case, visible_cases(access, act)), (persona, act)
        assert not allowed(access, Act.EDIT_CASE, facts)
        assert _readable(seeded, persona, number) == set(), persona
        subject = next(p for p, cases in seeded.parties.items() if cases == {case_id})
        assert subject not in seeded.ids(Person, visible_people(access, Act.VIEW_CASE))


# --------------------------------------------------------------------------- reports


REPORT_ACTS = (Act.TRIAGE, Act.VIEW_REPORTER, Act.VIEW_OWN_REPORT)
# Who else acts on reports: a district-wide member of the North team (the fallback for a
# school no active team covers), a district-wide lead on no team, and a school-scoped
# member of a disabled team only.
EXTRA = {
    "roamer": (Role.TEAM_MEMBER, True, ("north",)),
    "teamless_lead": (Role.TEAM_LEAD, True, ()),
    "old_member": (Role.TEAM_MEMBER, False, ("old",)),
}


@dataclass
class SeededReports:
    seeded: Seeded
    users: dict[str, int]
    facts: dict[int, ReportFacts]
    # person id -> the reports it is linked to
    linked: dict[int, frozenset[int]]

    def every_report(self) -> dict[int, ReportFacts]:
        db = self.seeded.db
        return {r: _report_facts(db, r) for r in db.execute(select(Report.id)).scalars()}

    def access(self, persona: str) -> Access:
        if persona not in self.users:
            return self.seeded.access(persona)
        db = self.seeded.db
        user = db.get(User, self.users[persona])
        assert user is not None
        actor = signin.actor_for(user, "")
        return Access(actor, case_repo.active_grants(db, actor.user_id, self.seeded.now))


@pytest.fixture
def reports_seeded(seeded: Seeded, world: World) -> SeededReports:
    """The cases of ``seeded``, and a report of each school: North High (covered by the North
    team), South Middle (the South team), West Elementary (no team) and Old Academy (a
    disabled team only), each naming a person of its own; teacher_cam reports, one of them
    confidentially."""
    db, now = seeded.db, seeded.now
    district = db.execute(select(District)).scalar_one()
    schools = {code: world.school_ids[code] for code in ("NHS", "SMS")}
    for code, name in (("WES", "West Elementary"), ("OLD", "Old Academy")):
        school = School(district_id=district.id, name=name, code=code)
        db.add(school)
        db.flush()
        schools[code] = school.id
    old = Team(district_id=district.id, name="Old Team", is_active=False)
    old.schools = [db.get(School, schools["OLD"])]  # type: ignore[list-item]
    db.add(old)
    db.flush()
    teams = {"north": world.team_ids["north"], "south": world.team_ids["south"], "old": old.id}
    users: dict[str, int] = {}
    for name, (role, district_wide, on_teams) in EXTRA.items():
        user = User(
            username=name,
            display_name=name,
            role=role,
            discipline=Discipline.OTHER,
            district_wide=district_wide,
            password_hash="x",
        )
        if not district_wide:
            user.schools = [db.get(School, schools["OLD"])]  # type: ignore[list-item]
        user.teams = [db.get(Team, teams[t]) for t in on_teams]  # type: ignore[misc]
        db.add(user)
        db.flush()
        users[name] = user.id
    facts: dict[int, ReportFacts] = {}
    linked: dict[int, frozenset[int]] = {}
    for code in ("NHS", "SMS", "WES", "OLD"):
        report = Report(
            district_id=district.id,
            school_id=schools[code],
            channel=Channel.STAFF,
            received_at=now,
            due_at=now + timedelta(days=1),
            reporter_id=seeded.uid("teacher_cam"),
            reporter_confidential=code == "SMS",
            narrative=f"a report at {code}",
        )
        named = Person(district_id=district.id, kind=PersonKind.STUDENT, given_name=code)
        db.add_all([report, named])
        db.flush()
        db.add(ReportPerson(report_id=report.id, person_id=named.id, part=Part.SUBJECT))
        facts[report.id] = intake_repo.report_facts(db, report)
        linked[named.id] = frozenset({report.id})
    db.commit()
    return SeededReports(seeded, users, facts, linked)


REPORT_PERSONAS = (*PERSONAS, *EXTRA)


@pytest.mark.parametrize("act", REPORT_ACTS)
def test_visible_reports_selects_what_can_allows(reports_seeded: SeededReports, act: Act) -> None:
    mismatches = []
    for persona in REPORT_PERSONAS:
        access = reports_seeded.access(persona)
        selected = reports_seeded.seeded.ids(Report, visible_reports(access, act))
        allowed_ = {r for r, f in reports_seeded.every_report().items() if allowed(access, act, f)}
        if selected != allowed_:
            mismatches.append((persona, act.value, sorted(selected), sorted(allowed_)))
    assert mismatches == []


def test_a_report_no_active_team_covers_reaches_the_district_wide_team_roles_only(
    reports_seeded: SeededReports, world: World
) -> None:
    by_school = {f.school_id: r for r, f in reports_seeded.facts.items()}
    db = reports_seeded.seeded.db
    wes, old = (
        by_school[db.execute(select(School.id).where(School.code == c)).scalar_one()]
        for c in ("WES", "OLD")
    )
    triagers = {
        persona
        for persona in REPORT_PERSONAS
        if {wes, old}
        <= reports_seeded.seeded.ids(
            Report, visible_reports(reports_seeded.access(persona), Act.TRIAGE)
        )
    }
    # Neither the school-scoped teams, nor a disabled team's member, nor a lead on no team.
    assert triagers == {"roamer"}
    nhs = by_school[world.school_ids["NHS"]]
    assert nhs in reports_seeded.seeded.ids(
        Report, visible_reports(reports_seeded.access("roamer"), Act.TRIAGE)
    )


def test_people_named_by_a_report_are_visible_to_whoever_triages_it(
    reports_seeded: SeededReports,
) -> None:
    """With the fallback's personas too: the people filter against the person's decision."""
    seeded = reports_seeded.seeded
    every = sorted(seeded.db.execute(select(Person.id)).scalars())
    facts = {pid: _person_facts(seeded.db, pid) for pid in every}
    mismatches = []
    for persona in REPORT_PERSONAS:
        access = reports_seeded.access(persona)
        for act in (Act.VIEW_CASE, Act.VIEW_DISCLOSURES):
            selected = seeded.ids(Person, visible_people(access, act))
            expected = {pid for pid in every if _on_a_person(access, act, facts[pid])}
            if selected != expected:
                mismatches.append((persona, act.value, sorted(selected), sorted(expected)))
    assert mismatches == []
    # A report opens who it names, never their record of disclosures.
    roamer = reports_seeded.access("roamer")
    named = set(reports_seeded.linked)
    assert named <= seeded.ids(Person, visible_people(roamer, Act.VIEW_CASE))
    assert not named & seeded.ids(Person, visible_people(roamer, Act.VIEW_DISCLOSURES))
