"""THE access decision: who may do what to which record, and why (FERPA).

A school official sees a student's records only with a legitimate educational interest,
which here means: the team that covers the case's school, a user the lead added to the
case, or a counselor the case gives work to. Everyone else sees nothing, unless a
health or safety emergency grant (34 CFR 99.36) opens one case to read for a few hours.

The policy decides on facts the caller already holds (:class:`CaseFacts`,
:class:`RecordFacts`, :class:`ReportFacts`, :class:`TeamFacts`): ids only, never content,
and no query. What an actor may *list* is built as SQL by each stage's ``scope`` module from
the same tables (:data:`CASE_RULES`, :data:`RECORD_CLASS_READERS`), and generated tests hold
every filter to the single-record decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from btam.access.actor import Actor, Discipline, Role
from btam.access.record_classes import RecordClass
from btam.errors import AccessDenied


class Act(StrEnum):
    """What an actor may ask to do with a case record."""

    LIST_CASES = "list_cases"  # open the case list at all (it is filtered)
    VIEW_HEADER = "view_header"  # number, school, status, level, lead
    VIEW_CASE = "view_case"  # summary, parties, education records, members
    EDIT_CASE = "edit_case"  # notes, attachments, parties, summary
    ASSESS = "assess"  # facts, answers, determinations and the notices they make due
    ASSIGN_WORK = "assign_work"  # the management plan: items, owners, reviews
    MANAGE_CASE = "manage_case"  # members, lead, status
    VIEW_ASSIGNMENT = "view_assignment"  # the plan items the case gives this actor, its log
    OWN_PLAN_ITEM = "own_plan_item"  # be given a plan item (asked of the would-be owner)
    READ_PRIVATE_LOG = "read_private_log"  # a log entry's private notes (decided on the entry)
    OPEN_CASE = "open_case"  # a new case for a school and team
    SEARCH_PEOPLE = "search_people"
    RECORD_DISCLOSURE = "record_disclosure"
    VIEW_DISCLOSURES = "view_disclosures"  # the record of disclosures of a person
    REQUEST_EMERGENCY = "request_emergency"  # an emergency grant on a case
    SUBMIT_REPORT = "submit_report"  # a staff report: every signed-in user
    VIEW_OWN_REPORT = "view_own_report"  # the status of one's own report, nothing more
    TRIAGE = "triage"  # read a report in full, screen it, decide its outcome, answer a tipster
    VIEW_REPORTER = "view_reporter"  # who reported (a confidential reporter: the lead only)
    MERGE_PEOPLE = "merge_people"  # merge a duplicate person into another (both visible)
    # Meetings: decided on :class:`MeetingFacts` (the team's meeting, and who is a guest).
    SCHEDULE_MEETING = "schedule_meeting"  # a meeting of one of the actor's teams
    VIEW_MEETING = "view_meeting"  # the team sees the agenda; a guest, what the lead shares
    LEAD_MEETING = "lead_meeting"  # agenda, attendance, sharing, decisions: the team's lead
    RECORD_MINUTES = "record_minutes"  # minutes of the agenda's items
    REFER = "refer"  # draft, send and follow up a referral (sending outside discloses)
    NOTIFY = "notify"  # record who was told of a threat, and a subject's documented history


class Rel(StrEnum):
    """A relation between the actor and a case that can justify access."""

    TEAM = "team"  # on the case's team, and the case's school is in the actor's scope
    LEAD = "lead"  # the case's lead, or the team lead of the case's team
    MEMBER = "member"  # added to the case by its lead
    ASSIGNED = "assigned"  # the case gives the actor work (a plan item it owns)
    SCHOOL = "school"  # the case's school is among the actor's schools
    GRANT = "grant"  # an active emergency grant on the case
    OUTSIDE = "outside"  # none of the above: the actor is outside the case
    REPORTER = "reporter"  # the user who submitted the report
    GUEST = "guest"  # a guest of a meeting, outside its team
    DISTRICT = "district"  # no case involved; the actor's scope is the whole district
    ANY = "any"  # no case involved; the role alone decides


TL, TM, CO = Role.TEAM_LEAD, Role.TEAM_MEMBER, Role.COUNSELOR


T, L, M, A, G = Rel.TEAM, Rel.LEAD, Rel.MEMBER, Rel.ASSIGNED, Rel.GRANT


# The matrix of DOMAIN.md. A role missing from an action's row may never do it: district
# admins, staff and auditors have no row with case content at all.
CASE_RULES: Final[dict[Act, dict[Role, tuple[Rel, ...]]]] = {
    Act.LIST_CASES: {TL: (Rel.ANY,), TM: (Rel.ANY,), CO: (Rel.ANY,)},
    Act.VIEW_HEADER: {TL: (T, M, A, G), TM: (T, M, A, G), CO: (A, M, G)},
    Act.VIEW_CASE: {TL: (T, M, G), TM: (T, M, G), CO: (M, G)},
    Act.EDIT_CASE: {TL: (T, M), TM: (T, M), CO: (M,)},
    Act.ASSESS: {TL: (T, M), TM: (T, M)},
    Act.ASSIGN_WORK: {TL: (T, M), TM: (T, M)},
    Act.MANAGE_CASE: {TL: (L,)},
    Act.VIEW_ASSIGNMENT: {TL: (A,), TM: (A,), CO: (A,)},
    # An owner: a team member of the case's team, or a counselor whose schools include the
    # case's school (DOMAIN.md "Management plan").
    Act.OWN_PLAN_ITEM: {TL: (T,), TM: (T,), CO: (Rel.SCHOOL,)},
    # Decided on each log entry, never on a case or a report: see PRIVATE_LOG_RELATIONS.
    Act.READ_PRIVATE_LOG: {},
    Act.OPEN_CASE: {TL: (T,), TM: (T,)},
    Act.SEARCH_PEOPLE: {TL: (Rel.ANY,), TM: (Rel.ANY,)},
    Act.RECORD_DISCLOSURE: {TL: (T, M), TM: (T, M)},
    Act.VIEW_DISCLOSURES: {TL: (T, M), TM: (T, M), Role.AUDITOR: (Rel.ANY,)},
    Act.REQUEST_EMERGENCY: {TL: (Rel.OUTSIDE,), TM: (Rel.OUTSIDE,), CO: (Rel.OUTSIDE,)},
    # Reports: T here means a team of the actor's covers the report's school, or, for a
    # school no active team covers, that the actor (on a team) works across the whole
    # district: the fallback that keeps such a report from reaching no one.
    Act.SUBMIT_REPORT: {role: (Rel.ANY,) for role in Role},
    Act.VIEW_OWN_REPORT: {role: (Rel.REPORTER,) for role in Role},
    Act.TRIAGE: {TL: (T,), TM: (T,)},
    Act.VIEW_REPORTER: {TL: (T,), TM: (T,)},
    # Which people: both must be visible to the actor (people.scope), which the caller checks.
    Act.MERGE_PEOPLE: {TL: (Rel.ANY,), TM: (Rel.DISTRICT,)},
    # Meetings: T is being on the meeting's team, L the team lead of that team.
    Act.SCHEDULE_MEETING: {TL: (T,), TM: (T,)},
    Act.VIEW_MEETING: {TL: (T, Rel.GUEST), TM: (T, Rel.GUEST), CO: (Rel.GUEST,)},
    Act.LEAD_MEETING: {TL: (L,)},
    Act.RECORD_MINUTES: {TL: (T,), TM: (T,)},
    # Referrals and notifications: the team and the lead's added members; never a grant
    # (an emergency opens a case to read, not to disclose it further).
    Act.REFER: {TL: (T, M), TM: (T, M)},
    Act.NOTIFY: {TL: (T, M), TM: (T, M)},
}

MEETING_ACTS: Final = frozenset(
    {Act.SCHEDULE_MEETING, Act.VIEW_MEETING, Act.LEAD_MEETING, Act.RECORD_MINUTES}
)


# Who may be shown a log entry's private notes at all, by the relations to its case; the
# entry's record class (RECORD_CLASS_READERS) and its author then decide.
PRIVATE_LOG_RELATIONS: Final[dict[Role, tuple[Rel, ...]]] = {TL: (T, M), TM: (T, M), CO: (A, M)}


# Who reads a note or attachment of each class, among those who may view the case. An
# emergency grant reads education records only: counseling and law-enforcement unit
# records are not part of what a §99.36 disclosure opens.
RECORD_CLASS_READERS: Final[dict[RecordClass, frozenset[Discipline] | None]] = {
    RecordClass.EDUCATION: None,  # everyone who may view the case
    RecordClass.COUNSELING: frozenset({Discipline.MENTAL_HEALTH}),
    RecordClass.LAW_ENFORCEMENT: frozenset({Discipline.LAW_ENFORCEMENT}),
}


BASIS: Final[dict[Rel, str]] = {
    Rel.TEAM: "legitimate educational interest: the team of the case",
    Rel.LEAD: "legitimate educational interest: lead of the case",
    Rel.MEMBER: "legitimate educational interest: member of the case",
    Rel.ASSIGNED: "legitimate educational interest: work assigned by the case",
    Rel.SCHOOL: "legitimate educational interest: a counselor of the case's school",
    Rel.GRANT: "health or safety emergency (34 CFR 99.36)",
    Rel.OUTSIDE: "health or safety emergency (34 CFR 99.36)",
    Rel.ANY: "role",
    Rel.DISTRICT: "role, with the whole district in scope",
    Rel.REPORTER: "the reporter's own report",
    Rel.GUEST: "a guest of the meeting: what its lead shares",
}


@dataclass(frozen=True)
class CaseFacts:
    """What the policy needs to know of a case: ids only, never content."""

    case_id: int
    school_id: int
    team_id: int
    lead_id: int | None
    member_ids: frozenset[int] = frozenset()
    assignee_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class TeamFacts:
    """A school and team a new case would belong to."""

    school_id: int
    team_id: int
    team_school_ids: frozenset[int]


@dataclass(frozen=True)
class MeetingFacts:
    """A team's meeting (``meeting_id`` 0 for one not yet scheduled) and its guests' ids."""

    meeting_id: int
    team_id: int
    guest_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class RecordFacts:
    """A note or attachment: its class, its author and its case."""

    case: CaseFacts
    record_class: RecordClass
    author_id: int


@dataclass(frozen=True)
class ReportFacts:
    """A report: its school, the active teams covering that school, and who reported it."""

    report_id: int
    school_id: int
    covering_team_ids: frozenset[int]
    reporter_id: int | None
    reporter_confidential: bool = False


@dataclass(frozen=True)
class Access:
    """The actor and the cases its active emergency grants open (for reading only)."""

    actor: Actor
    grants: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Decision:
    """The answer, the rule behind it (no content), the legal basis and the relation used."""

    allowed: bool
    reason: str
    basis: str | None = None
    relation: Rel | None = None

    def __bool__(self) -> bool:
        return self.allowed


def _in_scope(actor: Actor, school_id: int) -> bool:
    return actor.district_wide or school_id in actor.school_ids


def _relations(access: Access, case: CaseFacts) -> set[Rel]:
    actor = access.actor
    found: set[Rel] = set()
    if case.team_id in actor.team_ids and _in_scope(actor, case.school_id):
        found.add(Rel.TEAM)
        # A lead leads from inside the team: one who left it (or the school) leads nothing.
        if actor.role is Role.TEAM_LEAD or case.lead_id == actor.user_id:
            found.add(Rel.LEAD)
    if actor.user_id in case.member_ids:
        found.add(Rel.MEMBER)
    if actor.user_id in case.assignee_ids:
        found.add(Rel.ASSIGNED)
    if _in_scope(actor, case.school_id):
        found.add(Rel.SCHOOL)
    if case.case_id in access.grants:
        found.add(Rel.GRANT)
    if not found & {Rel.TEAM, Rel.LEAD, Rel.MEMBER, Rel.GRANT}:
        found.add(Rel.OUTSIDE)
    return found


Resource = CaseFacts | TeamFacts | RecordFacts | ReportFacts | MeetingFacts | None


def allowed(access: Access, act: Act, resource: Resource) -> Decision:
    """Decide whether ``access.actor`` may do ``act`` on ``resource``, with reason and basis."""
    actor = access.actor
    if act is Act.READ_PRIVATE_LOG:
        if not isinstance(resource, RecordFacts):
            return Decision(False, "private log notes are decided on their entry")
        return _can_read_private_log(access, resource)
    allowed_by = CASE_RULES[act].get(actor.role, ())
    if not allowed_by:
        return Decision(False, f"the {actor.role.label} role may not {act.value}")
    if isinstance(resource, RecordFacts):
        return _can_read_record(access, act, resource)
    if isinstance(resource, ReportFacts):
        return _can_on_report(access, act, resource, allowed_by)
    if isinstance(resource, MeetingFacts) != (act in MEETING_ACTS):
        return Decision(False, f"{act.value} is not decided on a meeting")
    if isinstance(resource, MeetingFacts):
        return _can_on_meeting(access, act, resource, allowed_by)
    if Rel.ANY in allowed_by:
        return Decision(True, "allowed to the role", BASIS[Rel.ANY], Rel.ANY)
    if Rel.DISTRICT in allowed_by:
        if actor.district_wide:
            return Decision(True, "the whole district in scope", BASIS[Rel.DISTRICT], Rel.DISTRICT)
        return Decision(False, f"{act.value} needs the whole district in scope")
    if isinstance(resource, TeamFacts) != (act is Act.OPEN_CASE):
        return Decision(False, f"{act.value} is not decided on a team")
    if isinstance(resource, TeamFacts):
        ok = (
            resource.team_id in actor.team_ids
            and resource.school_id in resource.team_school_ids
            and _in_scope(actor, resource.school_id)
        )
        if ok:
            return Decision(True, "a team covering the school", BASIS[Rel.TEAM], Rel.TEAM)
        return Decision(False, "not on a team covering that school")
    if resource is None:
        return Decision(False, "no record")
    relations = _relations(access, resource)
    for rel in allowed_by:
        if rel in relations:
            return Decision(True, f"relation: {rel.value}", BASIS[rel], rel)
    return Decision(False, f"no relation to the case that allows {act.value}")


def _can_read_record(access: Access, act: Act, record: RecordFacts) -> Decision:
    if act is not Act.VIEW_CASE:
        return Decision(False, "records are read through VIEW_CASE only")
    viewing = allowed(access, Act.VIEW_CASE, record.case)
    readers = RECORD_CLASS_READERS[record.record_class]
    if not viewing or readers is None:
        return viewing
    actor = access.actor
    # Through the team's own relation to the case only: a grant opens education records.
    official = _relations(access, record.case) & {Rel.TEAM, Rel.MEMBER}
    if official and record.author_id == actor.user_id:
        return Decision(True, "the author", viewing.basis, viewing.relation)
    if official and actor.discipline in readers:
        return Decision(
            True,
            f"{record.record_class.value} record, {actor.discipline}",
            viewing.basis,
            viewing.relation,
        )
    return Decision(False, f"a {record.record_class.value} record is not readable to this user")


def _can_read_private_log(access: Access, entry: RecordFacts) -> Decision:
    """A log entry's private notes: its author, or the entry's record-class readers on the
    team; never through an emergency grant (a counseling record is not part of one)."""
    allowed_by = PRIVATE_LOG_RELATIONS.get(access.actor.role, ())
    if not allowed_by:
        return Decision(False, f"the {access.actor.role.label} role may not read_private_log")
    relations = _relations(access, entry.case) & set(allowed_by)
    if not relations:
        return Decision(False, "no relation to the case that allows read_private_log")
    actor = access.actor
    relation = sorted(relations)[0]
    basis = BASIS[relation]
    if entry.author_id == actor.user_id:
        return Decision(True, "the author", basis, relation)
    readers = RECORD_CLASS_READERS[entry.record_class]
    official = relations & {Rel.TEAM, Rel.MEMBER}
    if official and (readers is None or actor.discipline in readers):
        reason = f"{entry.record_class.value} record, {actor.discipline}"
        return Decision(True, reason, basis, relation)
    return Decision(False, f"a {entry.record_class.value} record is not readable to this user")


def _can_on_report(
    access: Access, act: Act, report: ReportFacts, allowed_by: tuple[Rel, ...]
) -> Decision:
    actor = access.actor
    relations: set[Rel] = {Rel.ANY}
    if report.covering_team_ids & actor.team_ids and _in_scope(actor, report.school_id):
        relations.add(Rel.TEAM)
    # No active team covers the school: the district-wide team leads and members take it.
    if not report.covering_team_ids and actor.district_wide and actor.team_ids:
        relations.add(Rel.TEAM)
    if report.reporter_id is not None and report.reporter_id == actor.user_id:
        relations.add(Rel.REPORTER)
    # A reporter who asked for confidentiality is known to the lead alone.
    confidential = act is Act.VIEW_REPORTER and report.reporter_confidential
    if confidential and actor.role is not Role.TEAM_LEAD:
        return Decision(False, "the reporter asked that only the team lead know who reported")
    for rel in allowed_by:
        if rel in relations:
            return Decision(True, f"relation: {rel.value}", BASIS[rel], rel)
    return Decision(False, f"no relation to the report that allows {act.value}")


def _can_on_meeting(
    access: Access, act: Act, meeting: MeetingFacts, allowed_by: tuple[Rel, ...]
) -> Decision:
    actor = access.actor
    relations: set[Rel] = set()
    if meeting.team_id in actor.team_ids:
        relations.add(Rel.TEAM)
        if actor.role is Role.TEAM_LEAD:
            relations.add(Rel.LEAD)
    elif actor.user_id in meeting.guest_ids:
        relations.add(Rel.GUEST)
    for rel in allowed_by:
        if rel in relations:
            return Decision(True, f"relation: {rel.value}", BASIS[rel], rel)
    return Decision(False, f"no relation to the meeting that allows {act.value}")


def require(access: Access, act: Act, resource: Resource) -> Decision:
    """Return the allowing decision, or raise :class:`AccessDenied` carrying the refusal.

    The caller's service records the refusal in the audit trail (it knows the record's ids).
    """
    decision = allowed(access, act, resource)
    if not decision:
        raise AccessDenied(decision.reason)
    return decision
