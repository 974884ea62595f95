"""The access policy as a FERPA reviewer reads it: who may do what to which case, and why.

Pure decisions only (``allowed`` / ``require``); tests/functional/test_policy_filters.py checks
that the SQL filters agree with them on a real database.

The world here: North High (``NHS``) covered by the North team, South Middle (``SMS``)
covered by the South team. The actors work at North High; the North team is theirs.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btam.access.actor import ROLES_WITH_DISCIPLINE, Actor, Discipline, Role
from btam.access.policy import (
    CASE_RULES,
    Access,
    Act,
    CaseFacts,
    Decision,
    MeetingFacts,
    RecordFacts,
    Rel,
    ReportFacts,
    TeamFacts,
    allowed,
    require,
)
from btam.access.record_classes import RecordClass
from btam.errors import AccessDenied

NHS, SMS = 1, 2
NORTH, SOUTH = 10, 20
SOUTH_LEAD = 99  # the lead of the South team's cases: nobody below
SOMEONE = 98  # the author of a record who is none of the actors below

OWN_CASE_ID, OTHER_CASE_ID = 100, 200


def make_actor(
    user_id: int,
    role: Role,
    discipline: Discipline | None = None,
    *,
    schools: tuple[int, ...] = (NHS,),
    teams: tuple[int, ...] = (),
    district_wide: bool = False,
) -> Actor:
    return Actor(
        user_id=user_id,
        username=f"user{user_id}",
        display_name=f"User {user_id}",
        role=role,
        discipline=discipline,
        district_wide=district_wide,
        school_ids=frozenset(schools),
        team_ids=frozenset(teams),
    )


ADMIN = make_actor(1, Role.DISTRICT_ADMIN, schools=(), district_wide=True)
LEAD = make_actor(2, Role.TEAM_LEAD, Discipline.ADMINISTRATOR, teams=(NORTH,))
MEMBER = {
    d: make_actor(10 + i, Role.TEAM_MEMBER, d, teams=(NORTH,)) for i, d in enumerate(Discipline)
}
COUNSELOR = make_actor(5, Role.COUNSELOR)
STAFF = make_actor(6, Role.STAFF)
AUDITOR = make_actor(7, Role.AUDITOR, schools=(), district_wide=True)

PERSONAS: dict[str, Actor] = {
    "district_admin": ADMIN,
    "team_lead": LEAD,
    **{f"team_member/{d.value}": a for d, a in MEMBER.items()},
    "counselor": COUNSELOR,
    "staff": STAFF,
    "auditor": AUDITOR,
}
TEAM_ROLES = ("team_lead", *(f"team_member/{d.value}" for d in Discipline))
NO_CONTENT = ("district_admin", "staff", "auditor")


def own_case(**relations: frozenset[int]) -> CaseFacts:
    """A North team case at North High, led by the North team lead."""
    return CaseFacts(OWN_CASE_ID, NHS, NORTH, LEAD.user_id, **relations)


def other_case(**relations: frozenset[int]) -> CaseFacts:
    """A South team case at South Middle: another team, another school."""
    return CaseFacts(OTHER_CASE_ID, SMS, SOUTH, SOUTH_LEAD, **relations)


# --------------------------------------------------------------------------- the matrix

A = Act
# The acts decided on a case; the report acts (decided on ReportFacts) and the merging of
# people (on the actor alone) have tests of their own.
REPORT_ACTS = frozenset({A.SUBMIT_REPORT, A.VIEW_OWN_REPORT, A.TRIAGE, A.VIEW_REPORTER})
PERSON_ACTS = frozenset({A.MERGE_PEOPLE})
CASE_ACTS = frozenset(Act) - REPORT_ACTS - PERSON_ACTS
ROLE_WIDE = frozenset({A.LIST_CASES, A.SEARCH_PEOPLE})  # no case needed; the role decides
TEAM_ACTS = ROLE_WIDE | {
    A.VIEW_HEADER,
    A.VIEW_CASE,
    A.EDIT_CASE,
    A.ASSESS,
    A.ASSIGN_WORK,
    A.RECORD_DISCLOSURE,
    A.VIEW_DISCLOSURES,
    A.REFER,
    A.NOTIFY,
}
LEAD_ACTS = TEAM_ACTS | {A.MANAGE_CASE}
# OPEN_CASE is decided on a team and school (TeamFacts), never on a case.
MEMBER_ACTS = TEAM_ACTS
OUTSIDER = ROLE_WIDE | {A.REQUEST_EMERGENCY}
GRANTED = ROLE_WIDE | {A.VIEW_HEADER, A.VIEW_CASE}
COUNSELOR_OUTSIDE = frozenset({A.LIST_CASES, A.REQUEST_EMERGENCY})
AUDITOR_ACTS = frozenset({A.VIEW_DISCLOSURES})
NOTHING: frozenset[Act] = frozenset()
# Who may own a plan item: the case's team, or a counselor whose schools include its school.
OWN = frozenset({A.OWN_PLAN_ITEM})


def situation(name: str, actor: Actor) -> tuple[CaseFacts, frozenset[int]]:
    """The case (with the actor's relations to it) and the actor's active grants."""
    me = frozenset({actor.user_id})
    return {
        "own team and school": (own_case(), frozenset()),
        "another team, another school": (other_case(), frozenset()),
        "another team at the own school": (
            CaseFacts(300, NHS, SOUTH, SOUTH_LEAD),
            frozenset(),
        ),
        # The actor's team, but a school outside the actor's own scope: the team relation
        # needs both.
        "own team, school out of scope": (CaseFacts(400, SMS, NORTH, None), frozenset()),
        "case member": (other_case(member_ids=me), frozenset()),
        "assignee": (other_case(assignee_ids=me), frozenset()),
        "assignee on the own team's case": (own_case(assignee_ids=me), frozenset()),
        "emergency grant": (other_case(), frozenset({OTHER_CASE_ID})),
        "grant on the own team's case": (own_case(), frozenset({OWN_CASE_ID})),
        "member, assignee and grant": (
            other_case(member_ids=me, assignee_ids=me),
            frozenset({OTHER_CASE_ID}),
        ),
    }[name]


def _team(lead: frozenset[Act], member: frozenset[Act]) -> dict[str, frozenset[Act]]:
    return {"team_lead": lead, **{f"team_member/{d.value}": member for d in Discipline}}


def _expect(
    team: dict[str, frozenset[Act]], counselor: frozenset[Act]
) -> dict[str, frozenset[Act]]:
    return {
        "district_admin": NOTHING,
        **team,
        "counselor": counselor,
        "staff": NOTHING,
        "auditor": AUDITOR_ACTS,
    }


EXPECTED: dict[str, dict[str, frozenset[Act]]] = {
    # The counselor works at North High but on no team: outside every case it has no part in.
    "own team and school": _expect(
        _team(LEAD_ACTS | OWN, TEAM_ACTS | OWN), COUNSELOR_OUTSIDE | OWN
    ),
    "another team, another school": _expect(_team(OUTSIDER, OUTSIDER), COUNSELOR_OUTSIDE),
    "another team at the own school": _expect(_team(OUTSIDER, OUTSIDER), COUNSELOR_OUTSIDE | OWN),
    "own team, school out of scope": _expect(_team(OUTSIDER, OUTSIDER), COUNSELOR_OUTSIDE),
    "case member": _expect(
        _team(MEMBER_ACTS, MEMBER_ACTS),
        frozenset({A.LIST_CASES, A.VIEW_HEADER, A.VIEW_CASE, A.EDIT_CASE}),
    ),
    # Work assigned by a case opens its header and the work itself, none of the case: so the
    # assignee is still outside it and may ask for an emergency grant.
    "assignee": _expect(
        _team(
            OUTSIDER | {A.VIEW_HEADER, A.VIEW_ASSIGNMENT},
            OUTSIDER | {A.VIEW_HEADER, A.VIEW_ASSIGNMENT},
        ),
        frozenset({A.LIST_CASES, A.VIEW_HEADER, A.VIEW_ASSIGNMENT, A.REQUEST_EMERGENCY}),
    ),
    "assignee on the own team's case": _expect(
        _team(LEAD_ACTS | {A.VIEW_ASSIGNMENT} | OWN, TEAM_ACTS | {A.VIEW_ASSIGNMENT} | OWN),
        frozenset({A.LIST_CASES, A.VIEW_HEADER, A.VIEW_ASSIGNMENT, A.REQUEST_EMERGENCY}) | OWN,
    ),
    # §99.36: read only, and no second grant on a case one already reads.
    "emergency grant": _expect(_team(GRANTED, GRANTED), GRANTED - {A.SEARCH_PEOPLE}),
    "grant on the own team's case": _expect(
        _team(LEAD_ACTS | OWN, TEAM_ACTS | OWN), (GRANTED - {A.SEARCH_PEOPLE}) | OWN
    ),
    "member, assignee and grant": _expect(
        _team(MEMBER_ACTS | {A.VIEW_ASSIGNMENT}, MEMBER_ACTS | {A.VIEW_ASSIGNMENT}),
        frozenset({A.LIST_CASES, A.VIEW_HEADER, A.VIEW_CASE, A.EDIT_CASE, A.VIEW_ASSIGNMENT}),
    ),
}


def _matrix_params() -> list[object]:
    return [
        pytest.param(persona, where, acts, id=f"{persona}-{where}")
        for where, by_persona in EXPECTED.items()
        for persona, acts in by_persona.items()
    ]


@pytest.mark.parametrize(("persona", "where", "expected"), _matrix_params())
def test_every_act_of_every_role_on_a_case(
    persona: str, where: str, expected: frozenset[Act]
) -> None:
    actor = PERSONAS[persona]
    case, grants = situation(where, actor)
    decisions = {act: allowed(Access(actor, grants), act, case) for act in CASE_ACTS}
    assert {act for act, d in decisions.items() if d} == expected
    for act, decision in decisions.items():
        assert decision.reason, act
        if decision:
            assert decision.basis, act
        else:
            assert decision.basis is None, act


def test_the_matrix_covers_every_role_and_discipline() -> None:
    assert {a.role for a in PERSONAS.values()} == set(Role)
    assert {a.discipline for a in PERSONAS.values() if a.role is Role.TEAM_MEMBER} == set(
        Discipline
    )
    for by_persona in EXPECTED.values():
        assert set(by_persona) == set(PERSONAS)


# --------------------------------------------------------------------------- legal basis


def test_the_team_reads_on_a_legitimate_educational_interest() -> None:
    decision = allowed(Access(LEAD), Act.VIEW_CASE, own_case())
    assert "legitimate educational interest" in (decision.basis or "")
    member = allowed(Access(COUNSELOR), Act.VIEW_CASE, other_case(member_ids=frozenset({5})))
    assert "legitimate educational interest" in (member.basis or "")
    assert "member" in (member.basis or "")


def test_an_emergency_grant_reads_on_99_36() -> None:
    decision = allowed(Access(LEAD, frozenset({OTHER_CASE_ID})), Act.VIEW_CASE, other_case())
    assert decision
    assert "99.36" in (decision.basis or "")
    ask = allowed(Access(LEAD), Act.REQUEST_EMERGENCY, other_case())
    assert ask
    assert "99.36" in (ask.basis or "")


def test_a_grant_on_another_case_opens_nothing_here() -> None:
    assert not allowed(Access(LEAD, frozenset({OWN_CASE_ID})), Act.VIEW_HEADER, other_case())


def test_a_refusal_names_the_rule_not_the_content() -> None:
    decision = allowed(Access(STAFF), Act.VIEW_CASE, own_case())
    assert not decision
    assert decision.reason
    assert decision.basis is None


# --------------------------------------------------------------------------- require


def test_require_returns_the_allowing_decision() -> None:
    decision = require(Access(LEAD), Act.MANAGE_CASE, own_case())
    assert isinstance(decision, Decision)
    assert decision.allowed
    assert decision.basis


@pytest.mark.parametrize(
    ("persona", "act"),
    [
        ("district_admin", Act.VIEW_CASE),
        ("staff", Act.VIEW_HEADER),
        ("auditor", Act.VIEW_CASE),
        ("counselor", Act.VIEW_CASE),
        ("team_member/mental_health", Act.MANAGE_CASE),
    ],
)
def test_require_raises_access_denied_with_the_reason(persona: str, act: Act) -> None:
    access = Access(PERSONAS[persona])
    refusal = allowed(access, act, own_case())
    with pytest.raises(AccessDenied) as raised:
        require(access, act, own_case())
    assert raised.value.reason == refusal.reason
    assert str(raised.value) == refusal.reason


def test_require_refuses_a_grant_holder_any_change() -> None:
    access = Access(MEMBER[Discipline.MENTAL_HEALTH], frozenset({OTHER_CASE_ID}))
    require(access, Act.VIEW_CASE, other_case())
    for act in (Act.EDIT_CASE, Act.MANAGE_CASE, Act.ASSIGN_WORK, Act.RECORD_DISCLOSURE):
        with pytest.raises(AccessDenied):
            require(access, act, other_case())


# --------------------------------------------------------------------------- no case at all


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_acts_without_a_case(persona: str) -> None:
    actor = PERSONAS[persona]
    permitted = {act for act in CASE_ACTS if allowed(Access(actor), act, None)}
    expected = {
        "district_admin": NOTHING,
        "counselor": frozenset({Act.LIST_CASES}),
        "staff": NOTHING,
        "auditor": AUDITOR_ACTS,
    }.get(persona, ROLE_WIDE)
    assert permitted == expected


@pytest.mark.parametrize(
    ("persona", "team", "expected"),
    [
        ("team_lead", TeamFacts(NHS, NORTH, frozenset({NHS})), True),
        ("team_member/other", TeamFacts(NHS, NORTH, frozenset({NHS})), True),
        # The team does not cover that school.
        ("team_lead", TeamFacts(SMS, NORTH, frozenset({NHS})), False),
        # Covered by the team, but outside the actor's schools.
        ("team_lead", TeamFacts(SMS, NORTH, frozenset({NHS, SMS})), False),
        # Not the actor's team.
        ("team_lead", TeamFacts(SMS, SOUTH, frozenset({SMS})), False),
        ("team_lead", TeamFacts(NHS, SOUTH, frozenset({NHS})), False),
        ("counselor", TeamFacts(NHS, NORTH, frozenset({NHS})), False),
        ("district_admin", TeamFacts(NHS, NORTH, frozenset({NHS})), False),
        ("staff", TeamFacts(NHS, NORTH, frozenset({NHS})), False),
        ("auditor", TeamFacts(NHS, NORTH, frozenset({NHS})), False),
    ],
)
def test_open_case_for_a_team_and_school(persona: str, team: TeamFacts, expected: bool) -> None:
    decision = allowed(Access(PERSONAS[persona]), Act.OPEN_CASE, team)
    assert decision.allowed is expected
    assert decision.reason


def test_a_district_wide_team_member_opens_cases_at_every_school_of_its_team() -> None:
    wide = replace(LEAD, district_wide=True, school_ids=frozenset())
    assert allowed(Access(wide), Act.OPEN_CASE, TeamFacts(SMS, NORTH, frozenset({NHS, SMS})))
    assert allowed(Access(wide), Act.VIEW_CASE, CaseFacts(400, SMS, NORTH, None))


# --------------------------------------------------------------------------- record classes

EDU, COUNS, LE = RecordClass.EDUCATION, RecordClass.COUNSELING, RecordClass.LAW_ENFORCEMENT
TEAM_READERS = frozenset(TEAM_ROLES)


def _record_params() -> list[object]:
    mh, le = "team_member/mental_health", "team_member/law_enforcement"
    rows: list[tuple[str, RecordClass, bool, frozenset[str]]] = [
        # (situation, class, written by the actor, personas who read it)
        ("own team and school", EDU, False, TEAM_READERS),
        ("own team and school", COUNS, False, frozenset({mh})),
        ("own team and school", LE, False, frozenset({le})),
        # The author always reads what it wrote, among those who view the case.
        ("own team and school", COUNS, True, TEAM_READERS),
        ("own team and school", LE, True, TEAM_READERS),
        ("case member", EDU, False, TEAM_READERS | {"counselor"}),
        ("case member", COUNS, False, frozenset({mh})),
        ("case member", LE, False, frozenset({le})),
        ("case member", COUNS, True, TEAM_READERS | {"counselor"}),
        ("case member", LE, True, TEAM_READERS | {"counselor"}),
        # An assignee views no case content, not even what it wrote.
        ("assignee", EDU, False, frozenset()),
        ("assignee", COUNS, True, frozenset()),
        # A grant reads education records only, whatever the discipline.
        ("emergency grant", EDU, False, TEAM_READERS | {"counselor"}),
        ("emergency grant", COUNS, False, frozenset()),
        ("emergency grant", LE, False, frozenset()),
        # Outside the case, nothing of any class.
        ("another team, another school", EDU, False, frozenset()),
        ("another team, another school", COUNS, True, frozenset()),
        ("own team, school out of scope", LE, True, frozenset()),
        # Team membership and a grant together: the team's own relation decides the class.
        ("grant on the own team's case", COUNS, False, frozenset({mh})),
        ("grant on the own team's case", LE, False, frozenset({le})),
        ("member, assignee and grant", COUNS, False, frozenset({mh})),
    ]
    return [
        pytest.param(
            persona,
            where,
            klass,
            own,
            persona in readers,
            id=f"{persona}-{where}-{klass.value}{'-own' if own else ''}",
        )
        for where, klass, own, readers in rows
        for persona in PERSONAS
    ]


@pytest.mark.parametrize(("persona", "where", "klass", "own", "expected"), _record_params())
def test_who_reads_a_record_of_each_class(
    persona: str, where: str, klass: RecordClass, own: bool, expected: bool
) -> None:
    actor = PERSONAS[persona]
    case, grants = situation(where, actor)
    record = RecordFacts(case, klass, actor.user_id if own else SOMEONE)
    decision = allowed(Access(actor, grants), Act.VIEW_CASE, record)
    assert decision.allowed is expected
    assert decision.reason
    assert bool(decision.basis) is expected


@pytest.mark.parametrize("klass", list(RecordClass))
@pytest.mark.parametrize("persona", ["district_admin", "auditor", "staff"])
def test_no_content_roles_read_no_record_even_their_own(persona: str, klass: RecordClass) -> None:
    actor = PERSONAS[persona]
    me = frozenset({actor.user_id})
    case = own_case(member_ids=me, assignee_ids=me)
    access = Access(actor, frozenset({OWN_CASE_ID}))
    assert not allowed(access, Act.VIEW_CASE, RecordFacts(case, klass, actor.user_id))


@pytest.mark.parametrize("act", sorted(CASE_ACTS - {Act.VIEW_CASE, Act.READ_PRIVATE_LOG}))
def test_records_are_read_through_view_case_only(act: Act) -> None:
    record = RecordFacts(own_case(), RecordClass.EDUCATION, LEAD.user_id)
    assert not allowed(Access(LEAD), act, record)


# --------------------------------------------------------------------------- leads who left

# Still named the lead of the North case (``own_case().lead_id``), but since taken off the
# North team, or moved to another school.
LEFT_THE_TEAM = replace(LEAD, team_ids=frozenset())
LEFT_THE_SCHOOL = replace(LEAD, school_ids=frozenset({SMS}))


@pytest.mark.parametrize("lead", [LEFT_THE_TEAM, LEFT_THE_SCHOOL], ids=["team", "school"])
def test_a_lead_who_left_leads_nothing_and_is_outside_the_case(lead: Actor) -> None:
    access = Access(lead)
    assert own_case().lead_id == lead.user_id
    permitted = {act for act in CASE_ACTS if allowed(access, act, own_case())}
    assert permitted == OUTSIDER


def test_a_lead_who_left_gains_no_management_from_a_grant() -> None:
    access = Access(LEFT_THE_TEAM, frozenset({OWN_CASE_ID}))
    assert {act for act in CASE_ACTS if allowed(access, act, own_case())} == GRANTED


def test_a_team_member_named_lead_of_a_team_case_does_not_manage_it() -> None:
    member = MEMBER[Discipline.ADMINISTRATOR]
    case = replace(own_case(), lead_id=member.user_id)
    assert not allowed(Access(member), Act.MANAGE_CASE, case)
    assert allowed(Access(LEAD), Act.MANAGE_CASE, case)


# --------------------------------------------------------------------------- properties

USERS = st.sampled_from([1, 2, 3, 4])
CASE_IDS = st.sampled_from([OWN_CASE_ID, OTHER_CASE_ID])


@st.composite
def actors(draw: st.DrawFn, *, as_validated: bool = True) -> Actor:
    """Random actors; ``as_validated``: as the account services allow them (only team leads
    and members have a discipline and sit on teams), else anything at all."""
    role = draw(st.sampled_from(Role))
    teamed = role in ROLES_WITH_DISCIPLINE or not as_validated
    discipline = draw(st.sampled_from(Discipline)) if teamed else None
    if not as_validated:
        discipline = draw(st.none() | st.sampled_from(Discipline))
    return Actor(
        user_id=draw(USERS),
        username="u",
        display_name="U",
        role=role,
        discipline=discipline,
        district_wide=draw(st.booleans()),
        school_ids=draw(st.frozensets(st.sampled_from([NHS, SMS, 3]))),
        team_ids=draw(st.frozensets(st.sampled_from([NORTH, SOUTH, 30])))
        if teamed
        else frozenset(),
    )


@st.composite
def cases(draw: st.DrawFn) -> CaseFacts:
    return CaseFacts(
        case_id=draw(CASE_IDS),
        school_id=draw(st.sampled_from([NHS, SMS, 3])),
        team_id=draw(st.sampled_from([NORTH, SOUTH, 30])),
        lead_id=draw(st.none() | USERS),
        member_ids=draw(st.frozensets(USERS)),
        assignee_ids=draw(st.frozensets(USERS)),
    )


GRANTS = st.frozensets(CASE_IDS)
PROPERTY = settings(max_examples=400, derandomize=True, database=None, deadline=None)


@PROPERTY
@given(actor=actors(), case=cases(), grants=GRANTS)
def test_viewing_and_changing_are_nested(
    actor: Actor, case: CaseFacts, grants: frozenset[int]
) -> None:
    access = Access(actor, grants)
    ok = {act: allowed(access, act, case).allowed for act in CASE_ACTS}
    if ok[Act.VIEW_CASE]:
        assert ok[Act.VIEW_HEADER]
    for act in (Act.EDIT_CASE, Act.ASSIGN_WORK, Act.RECORD_DISCLOSURE):
        if ok[act]:
            assert ok[Act.VIEW_CASE], act
    if actor.role is not Role.AUDITOR and ok[Act.VIEW_DISCLOSURES]:
        assert ok[Act.VIEW_CASE]
    if ok[Act.MANAGE_CASE]:
        assert ok[Act.EDIT_CASE]
        assert allowed(Access(actor), Act.VIEW_CASE, case)  # not by a grant
    if ok[Act.VIEW_ASSIGNMENT]:
        assert ok[Act.VIEW_HEADER]
    # An emergency grant is for exactly those who could not read the case otherwise.
    if actor.role in (Role.TEAM_LEAD, Role.TEAM_MEMBER, Role.COUNSELOR):
        assert ok[Act.REQUEST_EMERGENCY] is not ok[Act.VIEW_CASE]
    else:
        assert not ok[Act.REQUEST_EMERGENCY]


@PROPERTY
@given(actor=actors(), case=cases(), grants=GRANTS)
def test_a_grant_only_ever_adds_reading(
    actor: Actor, case: CaseFacts, grants: frozenset[int]
) -> None:
    with_grants, without = Access(actor, grants), Access(actor)
    for act in CASE_ACTS - {Act.VIEW_HEADER, Act.VIEW_CASE, Act.REQUEST_EMERGENCY}:
        assert allowed(with_grants, act, case).allowed == allowed(without, act, case).allowed, act
    if case.case_id in grants and actor.role in (Role.TEAM_LEAD, Role.TEAM_MEMBER, Role.COUNSELOR):
        assert allowed(with_grants, Act.VIEW_CASE, case)
        assert not allowed(with_grants, Act.REQUEST_EMERGENCY, case)


@PROPERTY
@given(actor=actors(as_validated=False), case=cases(), grants=GRANTS)
def test_roles_without_case_content_never_see_a_case(
    actor: Actor, case: CaseFacts, grants: frozenset[int]
) -> None:
    access = Access(actor, grants)
    if actor.role in (Role.DISTRICT_ADMIN, Role.STAFF, Role.AUDITOR):
        permitted = {act for act in CASE_ACTS if allowed(access, act, case)}
        assert permitted == (AUDITOR_ACTS if actor.role is Role.AUDITOR else NOTHING)


@PROPERTY
@given(actor=actors(), case=cases(), grants=GRANTS, act=st.sampled_from(sorted(CASE_ACTS)))
def test_every_decision_has_a_reason_and_every_permission_a_basis(
    actor: Actor, case: CaseFacts, grants: frozenset[int], act: Act
) -> None:
    decision = allowed(Access(actor, grants), act, case)
    assert isinstance(decision.reason, str)
    assert decision.reason
    if decision:
        assert isinstance(decision.basis, str)
        assert decision.basis
        assert actor.role in CASE_RULES[act]


@PROPERTY
@given(
    actor=actors(),
    case=cases(),
    grants=GRANTS,
    klass=st.sampled_from(RecordClass),
    author=USERS,
)
def test_record_classes_narrow_what_the_case_shows(
    actor: Actor, case: CaseFacts, grants: frozenset[int], klass: RecordClass, author: int
) -> None:
    access = Access(actor, grants)
    decision = allowed(access, Act.VIEW_CASE, RecordFacts(case, klass, author))
    views = allowed(access, Act.VIEW_CASE, case).allowed
    if klass is RecordClass.EDUCATION:
        assert decision.allowed == views
        return
    if not decision:
        return
    assert views
    assert decision.basis
    if author != actor.user_id:
        # Not the author: the right discipline, on the case without any grant.
        wanted = (
            Discipline.MENTAL_HEALTH
            if klass is RecordClass.COUNSELING
            else Discipline.LAW_ENFORCEMENT
        )
        assert actor.discipline is wanted
        assert allowed(Access(actor), Act.VIEW_CASE, case)


# --------------------------------------------------------------------------- reports


def _report(**kwargs: object) -> ReportFacts:
    values: dict[str, object] = {
        "report_id": 9,
        "school_id": NHS,
        "covering_team_ids": frozenset({NORTH}),
        "reporter_id": None,
        "reporter_confidential": False,
    }
    values.update(kwargs)
    return ReportFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_every_role_may_report_and_see_only_its_own_reports(persona: str) -> None:
    actor = PERSONAS[persona]
    access = Access(actor)
    assert allowed(access, Act.SUBMIT_REPORT, None)
    assert allowed(access, Act.VIEW_OWN_REPORT, _report(reporter_id=actor.user_id))
    assert not allowed(access, Act.VIEW_OWN_REPORT, _report(reporter_id=actor.user_id + 1000))


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_only_a_team_covering_the_school_triages_a_report(persona: str) -> None:
    actor = PERSONAS[persona]
    on_team = NORTH in actor.team_ids and (actor.district_wide or NHS in actor.school_ids)
    team_role = actor.role in {Role.TEAM_LEAD, Role.TEAM_MEMBER}
    assert bool(allowed(Access(actor), Act.TRIAGE, _report())) == (on_team and team_role)
    assert not allowed(Access(actor), Act.TRIAGE, _report(covering_team_ids=frozenset({SOUTH})))


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_a_confidential_reporter_is_known_to_the_team_lead_alone(persona: str) -> None:
    actor = PERSONAS[persona]
    access = Access(actor)
    shown = allowed(access, Act.VIEW_REPORTER, _report(reporter_id=4242))
    hidden = allowed(
        access, Act.VIEW_REPORTER, _report(reporter_id=4242, reporter_confidential=True)
    )
    assert bool(hidden) == (bool(shown) and actor.role is Role.TEAM_LEAD)


@pytest.mark.parametrize("report", ["own school", "another school"])
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_a_report_no_active_team_covers_falls_to_the_district_wide_team_roles(
    persona: str, report: str
) -> None:
    actor = PERSONAS[persona]
    school = NHS if report == "own school" else SMS
    uncovered = _report(school_id=school, covering_team_ids=frozenset())
    roaming = replace(actor, district_wide=True, school_ids=frozenset())
    team_role = actor.role in {Role.TEAM_LEAD, Role.TEAM_MEMBER}
    # Scoped to schools: never, not even its own school's report, when no team covers it.
    assert not allowed(Access(actor), Act.TRIAGE, uncovered)
    # The whole district in scope, and on a team: the fallback triages it, and only it.
    on_a_team = bool(roaming.team_ids)
    assert bool(allowed(Access(roaming), Act.TRIAGE, uncovered)) == (team_role and on_a_team)
    covered_elsewhere = _report(school_id=school, covering_team_ids=frozenset({SOUTH}))
    assert not allowed(Access(roaming), Act.TRIAGE, covered_elsewhere)
    # On no team at all: nothing, even with the district in scope.
    teamless = replace(roaming, team_ids=frozenset())
    assert not allowed(Access(teamless), Act.TRIAGE, uncovered)


# --------------------------------------------------------------------------- people


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_only_a_team_lead_or_a_district_wide_member_merges_people(persona: str) -> None:
    actor = PERSONAS[persona]
    roaming = replace(actor, district_wide=True, school_ids=frozenset())
    lead = actor.role is Role.TEAM_LEAD
    member = actor.role is Role.TEAM_MEMBER
    assert bool(allowed(Access(actor), Act.MERGE_PEOPLE, None)) == lead
    assert bool(allowed(Access(roaming), Act.MERGE_PEOPLE, None)) == (lead or member)
    decision = allowed(Access(roaming), Act.MERGE_PEOPLE, None)
    assert decision.reason and (decision.basis is not None) == decision.allowed


# --------------------------------------------------------------------------- meetings

NORTH_MEETING = MeetingFacts(meeting_id=7, team_id=NORTH, guest_ids=frozenset({5}))


@pytest.mark.parametrize(
    ("role", "teams", "user_id", "act", "expected"),
    [
        (Role.TEAM_LEAD, (NORTH,), 1, Act.LEAD_MEETING, True),
        (Role.TEAM_MEMBER, (NORTH,), 2, Act.LEAD_MEETING, False),
        (Role.TEAM_MEMBER, (NORTH,), 2, Act.RECORD_MINUTES, True),
        (Role.TEAM_MEMBER, (NORTH,), 2, Act.SCHEDULE_MEETING, True),
        (Role.TEAM_LEAD, (SOUTH,), 3, Act.VIEW_MEETING, False),
        (Role.TEAM_LEAD, (SOUTH,), 3, Act.LEAD_MEETING, False),
        (Role.COUNSELOR, (), 5, Act.VIEW_MEETING, True),  # a guest
        (Role.COUNSELOR, (), 5, Act.RECORD_MINUTES, False),
        (Role.COUNSELOR, (), 6, Act.VIEW_MEETING, False),  # no guest of this one
        (Role.STAFF, (), 5, Act.VIEW_MEETING, False),
        (Role.DISTRICT_ADMIN, (), 8, Act.VIEW_MEETING, False),
        (Role.AUDITOR, (), 9, Act.VIEW_MEETING, False),
    ],
)
def test_who_may_do_what_with_a_meeting(
    role: Role, teams: tuple[int, ...], user_id: int, act: Act, expected: bool
) -> None:
    actor = make_actor(user_id, role, teams=teams)
    assert allowed(Access(actor), act, NORTH_MEETING).allowed is expected


def test_a_guest_sees_a_meeting_as_a_guest_and_a_member_as_the_team() -> None:
    guest = allowed(Access(make_actor(5, Role.COUNSELOR)), Act.VIEW_MEETING, NORTH_MEETING)
    member = make_actor(2, Role.TEAM_MEMBER, teams=(NORTH,))
    assert guest.relation is Rel.GUEST
    assert allowed(Access(member), Act.VIEW_MEETING, NORTH_MEETING).relation is Rel.TEAM


def test_meeting_acts_are_decided_on_meetings_only() -> None:
    lead = Access(make_actor(1, Role.TEAM_LEAD, teams=(NORTH,)))
    case = CaseFacts(OWN_CASE_ID, NHS, NORTH, 1)
    assert not allowed(lead, Act.LEAD_MEETING, case)
    assert not allowed(lead, Act.VIEW_CASE, NORTH_MEETING)


# --------------------------------------------------------------------------- the counselors' log


@pytest.mark.parametrize(
    ("persona", "relations", "grants", "author", "expected"),
    [
        # The counselor who owns the item and wrote the entry.
        ("counselor", {"assignee_ids": frozenset({5})}, frozenset(), 5, True),
        # Another counselor's entry on the same case: not its own.
        ("counselor", {"assignee_ids": frozenset({5})}, frozenset(), SOMEONE, False),
        ("team_member/mental_health", {}, frozenset(), SOMEONE, True),
        ("team_lead", {}, frozenset(), SOMEONE, False),
        ("team_member/law_enforcement", {}, frozenset(), SOMEONE, False),
        ("team_member/administrator", {}, frozenset(), SOMEONE, False),
        # An emergency grant opens education records only.
        ("team_member/mental_health", "other", frozenset({OTHER_CASE_ID}), SOMEONE, False),
        ("staff", {}, frozenset(), SOMEONE, False),
    ],
)
def test_private_log_notes_are_read_by_mental_health_and_their_author_only(
    persona: str,
    relations: dict[str, frozenset[int]] | str,
    grants: frozenset[int],
    author: int,
    expected: bool,
) -> None:
    case = other_case() if relations == "other" else own_case(**relations)  # type: ignore[arg-type]
    entry = RecordFacts(case, RecordClass.COUNSELING, author)
    decision = allowed(Access(PERSONAS[persona], grants), Act.READ_PRIVATE_LOG, entry)
    assert bool(decision) is expected and decision.reason


def test_private_log_notes_are_never_decided_on_the_case_alone() -> None:
    decision = allowed(Access(MEMBER[Discipline.MENTAL_HEALTH]), Act.READ_PRIVATE_LOG, own_case())
    assert not decision and "entry" in decision.reason


@pytest.mark.parametrize(
    ("persona", "case", "expected"),
    [
        ("team_lead", "own", True),
        ("team_member/other", "own", True),
        ("counselor", "own", True),  # a counselor of North High, the case's school
        ("counselor", "other", False),  # South Middle is not among its schools
        ("team_lead", "other", False),  # another team's case
        ("staff", "own", False),
        ("district_admin", "own", False),
    ],
)
def test_who_may_own_a_plan_item(persona: str, case: str, expected: bool) -> None:
    facts = own_case() if case == "own" else other_case()
    decision = allowed(Access(PERSONAS[persona]), Act.OWN_PLAN_ITEM, facts)
    assert bool(decision) is expected and decision.reason
