"""A state-scale district for the benchmarks: N cases with everything a team records about them.

    .venv/bin/python bench/seed.py --scale 50000 [--audit-entries 1000000]

Fills both stores of the configured instance (``BTAM_INSTANCE``, after ``btam init``) with
fictional, encrypted data: schools, teams and their users, reports and anonymous tips (with the
people as typed, linked at triage), people (with subjects who come back in later years, found
by their blind index), cases with parties, notes of every record class, facts, determinations
confirmed by their participants, status histories, emergency grants with their disclosures, work
assigned to counselors, a triage queue, and an audit trail that tells the same story.

Rows go in through the models' tables in batches (one transaction per batch, never a commit
per row; on PostgreSQL each table's rows of a batch in one ``COPY``, through the columns' own
bind processing), but every sensitive value is encrypted by the models' own encrypted fields
(:meth:`EncryptedText.encrypt` under the row's scope and data key) and every person gets the
blind indexes of :func:`btam.security.keys.person_indexes`, so the stores look exactly like
stores the app filled. The trail goes through :meth:`AuditWriter.append_history`: the writer
hashes, chains, witnesses and signs it, so ``btam audit verify`` and ``btam audit reconcile``
pass afterwards. Each batch is recorded in the trail before the case store commits it, as the
unit of work does.

Every record kind is one generator function of a case (``CASE_PARTS``): plans, referrals and
meetings join by adding theirs. The accounts the benchmarks sign in with (password and TOTP
secret, all fictional) are written to ``<instance>/bench-accounts.json`` (mode 0600).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import pyotp
from psycopg import sql
from sqlalchemy import Connection, Engine, Table, func, insert, select, text
from sqlalchemy.orm import Session

from btam.access.actor import Discipline, Role
from btam.access.policy import BASIS, Rel
from btam.access.record_classes import RecordClass
from btam.accounts.models import District, School, Team, User, team_members, team_schools
from btam.accounts.models import user_schools as user_schools_table
from btam.assessment.models import (
    Determination,
    DeterminationFact,
    Fact,
    Participant,
)
from btam.assessment.terms import DeterminationStatus, FactSource, Response
from btam.audit.actions import CHANGE_ACTIONS, AuditAction
from btam.audit.applied import AppliedChange
from btam.audit.context import AuditContext
from btam.audit.events import AuditEvent
from btam.cases.lifecycle import Transition
from btam.cases.models import (
    Assignment,
    Case,
    CaseCounter,
    CaseParty,
    CaseStatusChange,
    EmergencyGrant,
    Note,
)
from btam.cases.terms import CaseStatus
from btam.intake.models import Report, ReportMention, ReportPerson, TipAccess
from btam.intake.terms import Channel, NoThreatAction, ReportStatus, TipCategory, TriageOutcome
from btam.people.models import Disclosure, Person
from btam.people.terms import DisclosureBasis, Part, PersonKind
from btam.runtime import Runtime, build_runtime
from btam.security.keys import BINDINGS, keyring_for, person_indexes
from btam.settings import load_settings

DISTRICT = "Lakeshore State School System (fictional)"
TIME_ZONE = "America/Chicago"
YEARS = 5
CASES_PER_SCHOOL = 250
SCHOOLS_PER_TEAM = 4
BATCH_CASES = 500

GIVEN = [
    "Avery",
    "Blake",
    "Casey",
    "Dana",
    "Emery",
    "Finley",
    "Gray",
    "Harper",
    "Indy",
    "Jules",
    "Kai",
    "Lane",
    "Morgan",
    "Noa",
    "Oakley",
    "Parker",
    "Quinn",
    "Reese",
    "Sage",
    "Tatum",
    "Umber",
    "Vale",
    "Wren",
    "Yael",
    "Zion",
    "Ari",
    "Bryn",
    "Cael",
    "Dell",
    "Eben",
    "Fenn",
    "Gale",
    "Hale",
    "Ives",
    "Joss",
    "Kit",
    "Lior",
    "Mika",
    "Nell",
    "Orrin",
    "Pim",
    "Rune",
    "Sol",
    "Tove",
    "Ula",
    "Vesna",
    "Wynn",
    "Xan",
    "Yoel",
]
FAMILY = [
    "Abernathy",
    "Birchwood",
    "Calloway",
    "Dunmore",
    "Ellery",
    "Fairhaven",
    "Galloway",
    "Hartwell",
    "Ingleby",
    "Jessop",
    "Kingsley",
    "Larkspur",
    "Merriweather",
    "Northcott",
    "Oakhurst",
    "Pendleton",
    "Quarrington",
    "Ravenscroft",
    "Sutherby",
    "Thistlewood",
    "Underhill",
    "Vantongeren",
    "Whitlock",
    "Yardley",
    "Zellweger",
    "Ashdown",
    "Brightwater",
    "Coldridge",
    "Dovecote",
    "Emberly",
    "Foxworth",
    "Greystone",
    "Hollowell",
    "Ironwood",
    "Juniper",
    "Kestrel",
    "Lockridge",
]
WHAT = (
    "said in the hallway that they would 'make everyone pay' after the game",
    "posted a photo of a knife with the caption 'tomorrow' on a class group chat",
    "wrote a list of classmates' names in a notebook with the words 'not forgiven'",
    "told a bus driver that they know where their father keeps the keys to the gun safe",
    "shoved a classmate into a locker and said it would be worse next time",
    "sent a teacher a late-night message saying the school would regret failing them",
    "was seen drawing the floor plan of the gym during study hall and would not say why",
    "said to a friend that nobody would miss them and they had a plan",
    "threatened a former partner in the parking lot after dismissal",
    "brought a replica pistol to school in a backpack and showed it at lunch",
)
WHERE = ("cafeteria", "gym", "parking lot", "bus 14", "library", "hallway B", "online", "field")
NOTE = (
    "Spoke with the student's advisor; attendance has dropped over the last month.",
    "Parent called back; agrees to a meeting on Thursday with the assistant principal.",
    "Checked the schedule: the student shares two classes with the target.",
    "The student was calm in the interview and said the post was a joke.",
    "Supervision plan in place for arrival and dismissal; staff informed.",
    "Follow-up with the bus company: the driver's account matches the report.",
)
PRIVATE_NOTE = (
    "Screening completed; no current plan or intent, protective factors present.",
    "Officer checked with the household about firearms storage; safe is locked.",
)
SUMMARY = "Shared with the team: {}"
FACT = (
    "The subject confirmed writing the message and said it was meant for one person.",
    "Two witnesses heard the statement; their accounts agree on the words used.",
    "Records show two earlier discipline referrals for fighting this year.",
    "The subject's social-media account shows interest in past attacks.",
    "The parent reports no access to weapons at home; confirmed by the officer.",
    "The target reports feeling afraid to attend the class they share.",
)
RATIONALE = (
    "Statement made in anger, retracted, no plan or means: transient.",
    "Specific target, expressed intent and access to means: substantive.",
)
THREAT = "Report of a weapon on campus today; the case's people need protecting now."


def fictional_name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(GIVEN), rng.choice(FAMILY)


@dataclass
class Account:
    id: int
    username: str
    role: Role
    discipline: Discipline | None
    secret: str | None
    school_ids: tuple[int, ...]


@dataclass
class TeamInfo:
    id: int
    school_ids: tuple[int, ...]
    lead: Account
    members: list[Account]

    def by(self, discipline: Discipline) -> Account:
        return next(
            (m for m in [self.lead, *self.members] if m.discipline is discipline), self.lead
        )


@dataclass
class CaseDraft:
    """One case being generated: its ids, people and times, for the part generators."""

    id: int
    number: str
    school_id: int
    team: TeamInfo
    opened_at: datetime
    status: CaseStatus
    level: str | None
    subject_id: int
    party_ids: list[tuple[int, int, Part]] = field(default_factory=list)  # (party, person, part)
    fact_series: list[int] = field(default_factory=list)


class Batch:
    """Rows waiting for the next flush, per table, and the trail of the same events."""

    def __init__(self) -> None:
        self.rows: dict[Any, list[dict[str, Any]]] = {}
        self.trail: list[tuple[AuditContext, AuditEvent, datetime]] = []

    def add(self, table: Any, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)

    def audit(self, ctx: AuditContext, at: datetime, action: AuditAction, **what: Any) -> None:
        self.trail.append((ctx, AuditEvent(action, **what), at))


# The tables in the order foreign keys allow.
ORDER = [
    Person.__table__,
    Case.__table__,
    CaseParty.__table__,
    Report.__table__,
    ReportPerson.__table__,
    ReportMention.__table__,
    TipAccess.__table__,
    Note.__table__,
    Fact.__table__,
    Determination.__table__,
    Participant.__table__,
    DeterminationFact.__table__,
    CaseStatusChange.__table__,
    EmergencyGrant.__table__,
    Disclosure.__table__,
    Assignment.__table__,
    BINDINGS,
]


def load_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) into ``table`` in the connection's transaction.

    On PostgreSQL one ``COPY`` takes them, each value first through its column's bind
    processing as an INSERT would do it: several times faster than psycopg's pipelined
    INSERT per row. Elsewhere, or when a column left out has a Python-side default only an
    INSERT applies, one executemany INSERT.
    """
    names = list(rows[0])
    defaulted = [c for c in table.c if c.name not in rows[0] and c.default is not None]
    if conn.dialect.name != "postgresql" or defaulted:
        conn.execute(insert(table), rows)
        return
    processors = [table.c[name].type.bind_processor(conn.dialect) for name in names]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    process(row[name]) if process else row[name]
                    for name, process in zip(names, processors, strict=True)
                ]
            )


def advance_sequences(conn: Connection) -> None:
    """Move each PostgreSQL sequence owned by a column past the column's largest value.

    The generator gives every row its id itself; without this the app's next INSERT into a
    generated table would draw id 1 from the untouched sequence and collide.
    """
    if conn.dialect.name != "postgresql":
        return
    owned = conn.execute(
        text(
            "SELECT s.oid::regclass::text, t.oid::regclass::text, a.attname "
            "FROM pg_class s JOIN pg_depend d "
            "ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
            "WHERE s.relkind = 'S' AND d.deptype IN ('a', 'i')"
        )
    ).all()
    for sequence, table, column in owned:
        query = sql.SQL("SELECT setval({}, coalesce(max({}), 0) + 1, false) FROM {}").format(
            sql.Literal(sequence), sql.Identifier(column), sql.SQL(table)
        )
        conn.exec_driver_sql(query.as_string(conn.connection.driver_connection))


def settle(engine: Engine) -> bool:
    """``VACUUM ANALYZE`` a PostgreSQL store, as its autovacuum would have by the time a real
    store held as much: the pages are then measured with the planner's statistics and the
    visibility map of a store in use, not of one loaded a second ago. False on SQLite."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    return True


class Seeder:
    def __init__(
        self, rt: Runtime, db: Session, *, cases: int, audit_entries: int, seed: int, password: str
    ) -> None:
        self.rt, self.db = rt, db
        self.rng = random.Random(seed)
        self.cases = cases
        self.audit_entries = audit_entries
        self.password = password
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.ids: dict[Any, int] = {}
        self.schools: list[int] = []
        self.teams: list[TeamInfo] = []
        self.team_of_school: dict[int, TeamInfo] = {}
        self.counselors: dict[int, Account] = {}
        self.staff: dict[int, list[Account]] = {}
        self.auditors: list[Account] = []
        self.admin: Account | None = None
        self.district_id = 0
        self.past_subjects: dict[int, list[int]] = {}
        self.counters: dict[int, int] = {}
        self.entries = 0
        self.fields = 0
        self.people = 0
        self.reports = 0
        self.sealing: list[tuple[Any, dict[str, Any], dict[str, str | None]]] = []
        self.contexts: dict[int, AuditContext] = {}
        self._indexes: Any = None

    # --- ids and encryption ---------------------------------------------------------------

    def next_id(self, model: Any) -> int:
        table = model if hasattr(model, "c") else model.__table__
        if table not in self.ids:
            self.ids[table] = self.db.scalar(select(func.max(table.c.id))) or 0
        self.ids[table] += 1
        return self.ids[table]

    def seal(self, model: Any, row: dict[str, Any], **values: str | None) -> dict[str, Any]:
        """Have ``values`` encrypted into ``row`` by the model's own encrypted fields at the
        next commit (when every new scope of the batch gets its key in one statement)."""
        self.sealing.append((model, row, values))
        return row

    def encrypt_pending(self) -> None:
        ring = keyring_for(self.db)
        work = []
        for model, row, values in self.sealing:
            view = SimpleNamespace(**row)
            for name, value in values.items():
                descriptor = getattr(model, name)
                row[descriptor.column] = None
                if value is not None:
                    work.append((descriptor, view, row, value, descriptor.scope_of(view)))
        ring.prepare([scope for *_rest, scope in work])
        for descriptor, view, row, value, _scope in work:
            row[descriptor.column] = descriptor.encrypt(ring, view, value, row["id"])
        self.fields += len(work)
        self.sealing.clear()

    def ctx(self, account: Account) -> AuditContext:
        """The account's context for this batch: one request id per account and batch."""
        found = self.contexts.get(account.id)
        if found is None:
            found = self.contexts[account.id] = AuditContext(
                actor_id=account.id,
                actor_role=account.role.value,
                request_id=secrets.token_hex(8),
                client_address=f"10.{account.id % 250}.{account.id // 250 % 250}.2",
            )
        return found

    # --- the organisation -------------------------------------------------------------------

    def organisation(self) -> None:
        n_schools = max(4, -(-self.cases // CASES_PER_SCHOOL))
        n_teams = -(-n_schools // SCHOOLS_PER_TEAM)
        db = self.db
        self.district_id = self.next_id(District)
        db.execute(
            insert(District.__table__).values(
                id=self.district_id, name=DISTRICT, created_at=self.now, time_zone=TIME_ZONE
            )
        )
        kinds = ("High School", "Middle School", "Elementary School")
        for i in range(n_schools):
            sid = self.next_id(School)
            db.execute(
                insert(School.__table__).values(
                    id=sid,
                    district_id=self.district_id,
                    name=f"{FAMILY[i % len(FAMILY)]} {kinds[i % 3]} No. {i + 1}",
                    code=f"S{i + 1:04d}",
                    is_active=True,
                )
            )
            self.schools.append(sid)
        password_hash = self.rt.hashing.hash(self.password)
        users: list[dict[str, Any]] = []
        links: list[dict[str, int]] = []

        def account(
            username: str, role: Role, discipline: Discipline | None, schools: tuple[int, ...]
        ) -> Account:
            uid = self.next_id(User)
            given, family = fictional_name(self.rng)
            secret = None if role is Role.STAFF else pyotp.random_base32()
            row = {
                "id": uid,
                "username": username,
                "display_name": f"{given} {family}",
                "role": role.value,
                "discipline": discipline.value if discipline else None,
                "district_wide": not schools,
                "agency": "Lakeshore Police Department"
                if discipline is Discipline.LAW_ENFORCEMENT
                else None,
                "is_active": True,
                "password_hash": password_hash,
                "must_change_password": False,
                "password_changed_at": self.now,
                "mfa_enrolled_at": self.now if secret else None,
                "mfa_last_step": 0,
                "created_at": self.now - timedelta(days=365 * YEARS),
                "disabled_at": None,
            }
            users.append(self.seal(User, row, mfa_secret=secret, mfa_pending_secret=None))
            links.extend({"user_id": uid, "school_id": s} for s in schools)
            return Account(uid, username, role, discipline, secret, schools)

        self.admin = account("bench.admin", Role.DISTRICT_ADMIN, None, ())
        self.auditors = [account(f"bench.auditor{i}", Role.AUDITOR, None, ()) for i in (1, 2)]
        for t in range(n_teams):
            covered = tuple(self.schools[t * SCHOOLS_PER_TEAM : (t + 1) * SCHOOLS_PER_TEAM])
            lead = account(f"t{t + 1}.lead", Role.TEAM_LEAD, Discipline.ADMINISTRATOR, covered)
            members = [
                account(f"t{t + 1}.{d.value}", Role.TEAM_MEMBER, d, covered)
                for d in (
                    Discipline.MENTAL_HEALTH,
                    Discipline.LAW_ENFORCEMENT,
                    Discipline.ADMINISTRATOR,
                    Discipline.INSTRUCTION,
                )
            ]
            self.teams.append(TeamInfo(0, covered, lead, members))
        for i, sid in enumerate(self.schools):
            self.counselors[sid] = account(f"s{i + 1}.counselor", Role.COUNSELOR, None, (sid,))
            self.staff[sid] = [
                account(f"s{i + 1}.staff{k}", Role.STAFF, None, (sid,)) for k in (1, 2)
            ]
        self.encrypt_pending()
        db.execute(insert(User.__table__), users)
        db.execute(insert(user_schools_table), links)
        for t, info in enumerate(self.teams):
            info.id = self.next_id(Team)
            db.execute(
                insert(Team.__table__).values(
                    id=info.id,
                    district_id=self.district_id,
                    name=f"Threat Assessment Team {t + 1}",
                    is_active=True,
                )
            )
            db.execute(
                insert(team_schools),
                [{"team_id": info.id, "school_id": s} for s in info.school_ids],
            )
            db.execute(
                insert(team_members),
                [{"team_id": info.id, "user_id": u.id} for u in [info.lead, *info.members]],
            )
            for s in info.school_ids:
                self.team_of_school[s] = info
        system = AuditContext.system()
        history = [
            (
                system,
                AuditEvent(
                    AuditAction.ADMIN_DISTRICT_CREATED,
                    object_type="district",
                    object_id=self.district_id,
                ),
                self.now - timedelta(days=365 * YEARS),
            ),
            *[
                (
                    system,
                    AuditEvent(
                        AuditAction.ADMIN_SCHOOL_CREATED,
                        object_type="school",
                        object_id=s,
                        school_id=s,
                    ),
                    self.now - timedelta(days=365 * YEARS),
                )
                for s in self.schools
            ],
            *[
                (
                    system,
                    AuditEvent(
                        AuditAction.ADMIN_USER_CREATED, object_type="user", object_id=u["id"]
                    ),
                    self.now - timedelta(days=365 * YEARS),
                )
                for u in users
            ],
            *[
                (
                    system,
                    AuditEvent(AuditAction.ADMIN_TEAM_CREATED, object_type="team", object_id=t.id),
                    self.now - timedelta(days=365 * YEARS),
                )
                for t in self.teams
            ],
        ]
        self.commit(history, {})

    # --- one case and everything about it -----------------------------------------------------

    def opened_times(self) -> list[datetime]:
        span = timedelta(days=365 * YEARS).total_seconds()
        # More cases recently: a district's use grows, and open cases are the recent ones.
        times = [
            self.now - timedelta(seconds=span * (1 - self.rng.random() ** 0.7) + 3600 * 6)
            for _ in range(self.cases)
        ]
        return sorted(times)

    def case_number(self, year: int) -> str:
        self.counters[year] = self.counters.get(year, 0) + 1
        return f"{year}-{self.counters[year]:04d}"

    def status_for(self, opened_at: datetime) -> tuple[CaseStatus, str | None]:
        age = (self.now - opened_at).days
        r = self.rng.random()
        if age > 120:
            return (
                (CaseStatus.CLOSED, self.rng.choice(("low", "moderate", "high")))
                if r < 0.93
                else (CaseStatus.MONITORING, "low")
            )
        if age > 30:
            return self.rng.choice(
                (
                    (CaseStatus.MANAGEMENT, "moderate"),
                    (CaseStatus.MONITORING, "low"),
                    (CaseStatus.CLOSED, "low"),
                    (CaseStatus.MANAGEMENT, "high"),
                )
            )
        return (CaseStatus.ASSESSMENT, None) if r < 0.6 else (CaseStatus.MANAGEMENT, "high")

    def person(
        self, batch: Batch, *, school_id: int | None, kind: PersonKind, born: int
    ) -> tuple[int, dict[str, Any]]:
        pid = self.next_id(Person)
        given, family = fictional_name(self.rng)
        dob = date(born, self.rng.randint(1, 12), self.rng.randint(1, 28))
        number = f"{school_id or 0:04d}{pid:07d}" if kind is PersonKind.STUDENT else None
        if self._indexes is None:
            self._indexes = person_indexes(self.db)
        indexes = self._indexes
        row = {
            "id": pid,
            "district_id": self.district_id,
            "kind": kind.value,
            "school_id": school_id,
            "student_id_index": indexes.student_id_index(number) if number else None,
            "name_dob_index": indexes.name_dob_index(
                given_name=given, family_name=family, date_of_birth=dob
            ),
            "created_at": self.now,
            "merged_into_id": None,
            "merged_at": None,
            "merged_by": None,
        }
        self.seal(
            Person,
            row,
            given_name=given,
            family_name=family,
            date_of_birth_text=dob.isoformat(),
            student_number=number,
        )
        batch.add(Person.__table__, row)
        self.people += 1
        typed = {
            "given_name": given,
            "family_name": family,
            "date_of_birth_text": dob.isoformat(),
            "student_number": number,
            "kind": kind.value,
            "student_id_index": row["student_id_index"],
            "name_dob_index": row["name_dob_index"],
        }
        return pid, typed

    def report(
        self,
        batch: Batch,
        *,
        school_id: int,
        received: datetime,
        people: list[tuple[int | None, dict[str, Any], Part]],
        case_id: int | None,
        outcome: TriageOutcome | None,
        triager: Account | None,
    ) -> int:
        rid = self.next_id(Report)
        tip = self.rng.random() < 0.25
        reporter = None if tip else self.rng.choice(self.staff[school_id])
        row = {
            "id": rid,
            "district_id": self.district_id,
            "school_id": school_id,
            "channel": (
                Channel.ANONYMOUS_TIP
                if tip
                else self.rng.choice(
                    (
                        Channel.STAFF,
                        Channel.STUDENT,
                        Channel.PARENT,
                        Channel.SCHOOL_RESOURCE_OFFICER,
                    )
                )
            ).value,
            "category": self.rng.choice(list(TipCategory)).value if tip else None,
            "received_at": received,
            "due_at": received + timedelta(days=1),
            "reporter_id": reporter.id if reporter else None,
            "reporter_confidential": False,
            "imminent": False,
            "imminent_acknowledged_at": None,
            "imminent_acknowledged_by": None,
            "status": (ReportStatus.TRIAGED if outcome else ReportStatus.RECEIVED).value,
            "screen_imminent": False if outcome else None,
            "screen_threat_communicated": (outcome is not TriageOutcome.NO_THREAT)
            if outcome
            else None,
            "screen_someone_in_fear": True if outcome else None,
            "screen_has_plan": False if outcome else None,
            "screen_manageable_under_plan": None,
            "outcome": outcome.value if outcome else None,
            "no_threat_action": NoThreatAction.COUNSELOR.value
            if outcome is TriageOutcome.NO_THREAT
            else None,
            "case_id": case_id,
            "triaged_at": received + timedelta(hours=3) if outcome else None,
            "triaged_by": triager.id if (outcome and triager) else None,
        }
        subject = next((t for _p, t, part in people if part is Part.SUBJECT), None)
        who = f"{subject['given_name']} {subject['family_name']}" if subject else None
        self.seal(
            Report,
            row,
            occurred=received.date().isoformat(),
            location=self.rng.choice(WHERE),
            narrative=f"A student {self.rng.choice(WHAT)}.",
            who=who,
            outcome_reason="Handled by the counselor; no threat."
            if outcome is TriageOutcome.NO_THREAT
            else None,
        )
        batch.add(Report.__table__, row)
        self.reports += 1
        for pid, typed, part in people:
            mid = self.next_id(ReportMention)
            mention = {
                "id": mid,
                "report_id": rid,
                "part": part.value,
                "kind": typed["kind"],
                "student_id_index": typed["student_id_index"],
                "name_dob_index": typed["name_dob_index"],
                "person_id": pid if outcome else None,
                "linked_at": row["triaged_at"] if outcome else None,
                "linked_by": row["triaged_by"],
            }
            self.seal(
                ReportMention,
                mention,
                given_name=typed["given_name"],
                family_name=typed["family_name"],
                date_of_birth_text=typed["date_of_birth_text"],
                student_number=typed["student_number"],
            )
            batch.add(ReportMention.__table__, mention)
            if outcome and pid is not None:
                batch.add(
                    ReportPerson.__table__,
                    {
                        "id": self.next_id(ReportPerson),
                        "report_id": rid,
                        "person_id": pid,
                        "part": part.value,
                    },
                )
        if tip:
            batch.add(
                TipAccess.__table__,
                {
                    "id": self.next_id(TipAccess),
                    "report_id": rid,
                    "lookup": f"B{rid:07d}"[-8:],
                    "secret_hash": self.tip_hash,
                },
            )
            batch.audit(
                AuditContext.anonymous(secrets.token_hex(8)),
                received,
                AuditAction.INTAKE_TIP_RECEIVED,
                object_type="report",
                object_id=rid,
                school_id=school_id,
                anonymous=True,
            )
        else:
            assert reporter is not None
            batch.audit(
                self.ctx(reporter),
                received,
                AuditAction.INTAKE_REPORT_SUBMITTED,
                object_type="report",
                object_id=rid,
                school_id=school_id,
            )
        if case_id is not None:
            batch.add(
                BINDINGS,
                {
                    "scope": f"report:{rid}",
                    "bound_to": f"case:{case_id}",
                    "bound_at": row["triaged_at"],
                },
            )
        if outcome and triager:
            at = row["triaged_at"]
            batch.audit(
                self.ctx(triager),
                at,
                AuditAction.TRIAGE_REPORT_VIEWED,
                object_type="report",
                object_id=rid,
                school_id=school_id,
            )
            batch.audit(
                self.ctx(triager),
                at,
                AuditAction.TRIAGE_REPORT_DECIDED,
                object_type="report",
                object_id=rid,
                case_id=case_id,
                school_id=school_id,
                purpose=outcome.value,
            )
        return rid

    def case(self, batch: Batch, opened_at: datetime) -> CaseDraft:
        school_id = self.rng.choice(self.schools)
        team = self.team_of_school[school_id]
        status, level = self.status_for(opened_at)
        cid = self.next_id(Case)
        draft = CaseDraft(
            cid, self.case_number(opened_at.year), school_id, team, opened_at, status, level, 0
        )
        # A subject seen before in this school comes back in a quarter of the cases.
        earlier = self.past_subjects.setdefault(school_id, [])
        people: list[tuple[int | None, dict[str, Any], Part]] = []
        if earlier and self.rng.random() < 0.25:
            pid, typed = self.rng.choice(earlier)
        else:
            pid, typed = self.person(
                batch,
                school_id=school_id,
                kind=PersonKind.STUDENT,
                born=opened_at.year - self.rng.randint(11, 18),
            )
            earlier.append((pid, typed))
        draft.subject_id = pid
        people.append((pid, typed, Part.SUBJECT))
        for part, chance in (
            (Part.TARGET, 0.7),
            (Part.WITNESS, 0.5),
            (Part.PARENT, 0.5),
            (Part.TARGET, 0.2),
        ):
            if self.rng.random() < chance:
                kind = PersonKind.OTHER if part is Part.PARENT else PersonKind.STUDENT
                born = opened_at.year - (
                    self.rng.randint(35, 55) if part is Part.PARENT else self.rng.randint(11, 18)
                )
                other, other_typed = self.person(
                    batch,
                    school_id=school_id if kind is PersonKind.STUDENT else None,
                    kind=kind,
                    born=born,
                )
                people.append((other, other_typed, part))
        row = {
            "id": cid,
            "district_id": self.district_id,
            "number": draft.number,
            "school_id": school_id,
            "team_id": team.id,
            "lead_id": team.lead.id,
            "status": status.value,
            "level": level,
            "assessment_model": "default",
            "assessment_model_version": 1,
            "opened_at": opened_at,
            "opened_by": team.lead.id,
            "closed_at": None,
        }
        self.seal(Case, row, summary=f"Report that a student {self.rng.choice(WHAT)}.")
        batch.add(Case.__table__, row)
        lead = self.ctx(team.lead)
        self.report(
            batch,
            school_id=school_id,
            received=opened_at - timedelta(hours=3),
            people=people,
            case_id=cid,
            outcome=TriageOutcome.OPENED_CASE,
            triager=team.lead,
        )
        batch.audit(
            lead,
            opened_at,
            AuditAction.CASE_RECORD_OPENED,
            object_type="case",
            object_id=cid,
            case_id=cid,
            school_id=school_id,
        )
        seen = set()
        for pid, _typed, part in people:
            if (pid, part) in seen:
                continue
            seen.add((pid, part))
            party = self.next_id(CaseParty)
            batch.add(
                CaseParty.__table__,
                {
                    "id": party,
                    "case_id": cid,
                    "person_id": pid,
                    "part": part.value,
                    "added_at": opened_at,
                },
            )
            draft.party_ids.append((party, pid, part))
            batch.audit(
                lead,
                opened_at,
                AuditAction.CASE_PARTY_ADDED,
                object_type="case_party",
                object_id=party,
                case_id=cid,
                school_id=school_id,
            )
        if self.rng.random() < 0.1:
            self.report(
                batch,
                school_id=school_id,
                received=opened_at + timedelta(days=2),
                people=people[:1],
                case_id=cid,
                outcome=TriageOutcome.ADDED_TO_CASE,
                triager=team.lead,
            )
        for part_generator in CASE_PARTS:
            part_generator(self, batch, draft)
        if status is CaseStatus.CLOSED:
            row["closed_at"] = opened_at + timedelta(days=self.rng.randint(20, 110))
        return draft

    # --- batches --------------------------------------------------------------------------------

    def commit(
        self,
        trail: list[tuple[AuditContext, AuditEvent, datetime]],
        rows: dict[Any, list[dict[str, Any]]],
    ) -> None:
        """Record the batch's trail, then commit its rows: the unit of work's order."""
        self.encrypt_pending()
        self.contexts.clear()
        seqs = self.rt.audit.append_history(trail) if trail else []
        self.entries += len(seqs)
        applied = [
            {"audit_seq": seq, "applied_at": at}
            for seq, (_ctx, event, at) in zip(seqs, trail, strict=True)
            if event.action in CHANGE_ACTIONS
        ]
        conn = self.db.connection()
        for table in ORDER:
            if rows.get(table):
                load_rows(conn, table, rows[table])
        if applied:
            load_rows(conn, AppliedChange.__table__, applied)
        self.db.commit()

    def views(self, batch: Batch, drafts: list[CaseDraft], count: int) -> None:
        """Reads of the batch's cases, lists and queues: most of a real trail."""
        for _ in range(count):
            draft = self.rng.choice(drafts)
            who = self.rng.choice([draft.team.lead, *draft.team.members])
            at = draft.opened_at + timedelta(hours=self.rng.randint(1, 24 * 60))
            at = min(at, self.now)
            ctx = self.ctx(who)
            kind = self.rng.random()
            if kind < 0.7:
                batch.audit(
                    ctx,
                    at,
                    AuditAction.CASE_RECORD_VIEWED,
                    object_type="case",
                    object_id=draft.id,
                    case_id=draft.id,
                    school_id=draft.school_id,
                    purpose=BASIS[Rel.TEAM],
                )
            elif kind < 0.8:
                batch.audit(
                    ctx,
                    at,
                    AuditAction.CASE_LIST_VIEWED,
                    object_type="case_list",
                    purpose="50 shown",
                )
            elif kind < 0.9:
                batch.audit(ctx, at, AuditAction.TRIAGE_QUEUE_VIEWED, object_type="triage_queue")
            else:
                batch.audit(
                    ctx, at, AuditAction.AUTH_LOGIN_SUCCESS, object_type="user", object_id=who.id
                )

    def run(self, progress: Callable[[int], None]) -> None:
        self.tip_hash = self.rt.hashing.hash(secrets.token_urlsafe(16))
        self.organisation()
        times = self.opened_times()
        natural_per_case = 12
        extra = max(0, self.audit_entries - self.cases * natural_per_case - 1000)
        for start in range(0, self.cases, BATCH_CASES):
            batch = Batch()
            drafts = [self.case(batch, t) for t in times[start : start + BATCH_CASES]]
            # Reports still waiting in the queue, and reports triaged as no threat.
            for draft in drafts[::40]:
                self.pending(batch, draft)
            for draft in drafts[::5]:
                self.no_threat(batch, draft)
            self.views(batch, drafts, extra * len(drafts) // self.cases)
            batch.trail.sort(key=lambda item: item[2])
            self.commit(batch.trail, batch.rows)
            progress(len(drafts))
        for year, last in sorted(self.counters.items()):
            self.db.execute(
                insert(CaseCounter.__table__).values(
                    district_id=self.district_id, year=year, last=last
                )
            )
        advance_sequences(self.db.connection())
        self.db.commit()
        self.rt.audit.checkpoint()

    def pending(self, batch: Batch, draft: CaseDraft) -> None:
        """A report waiting in the triage queue, naming the case's subject again."""
        received = self.now - timedelta(hours=self.rng.randint(1, 60))
        subject = next(t for t in self.past_subjects[draft.school_id] if t[0] == draft.subject_id)
        self.report(
            batch,
            school_id=draft.school_id,
            received=received,
            people=[(None, subject[1], Part.SUBJECT)],
            case_id=None,
            outcome=None,
            triager=None,
        )

    def no_threat(self, batch: Batch, draft: CaseDraft) -> None:
        received = draft.opened_at - timedelta(days=self.rng.randint(1, 30))
        pid, typed = self.person(
            batch, school_id=draft.school_id, kind=PersonKind.STUDENT, born=received.year - 14
        )
        self.report(
            batch,
            school_id=draft.school_id,
            received=received,
            people=[(pid, typed, Part.SUBJECT)],
            case_id=None,
            outcome=TriageOutcome.NO_THREAT,
            triager=draft.team.lead,
        )


# --- the parts of a case: one generator each ------------------------------------------------
#
# Each takes the seeder, the batch and the case being generated, adds its rows and the trail's
# entries for them. Plans, referrals and meetings join by adding a function to CASE_PARTS.


def notes(s: Seeder, batch: Batch, case: CaseDraft) -> None:
    for k in range(s.rng.choice((1, 2, 2, 3, 3, 4, 5, 6))):
        r = s.rng.random()
        if r < 0.7:
            author, cls, body, shared = (
                case.team.lead,
                RecordClass.EDUCATION,
                s.rng.choice(NOTE),
                None,
            )
        elif r < 0.85:
            author, cls = case.team.by(Discipline.MENTAL_HEALTH), RecordClass.COUNSELING
            body, shared = PRIVATE_NOTE[0], SUMMARY.format("screened; no current plan.")
        else:
            author, cls = case.team.by(Discipline.LAW_ENFORCEMENT), RecordClass.LAW_ENFORCEMENT
            body, shared = PRIVATE_NOTE[1], SUMMARY.format("no access to weapons found.")
        at = case.opened_at + timedelta(hours=6 + 20 * k)
        row = {
            "id": s.next_id(Note),
            "case_id": case.id,
            "author_id": author.id,
            "record_class": cls.value,
            "created_at": at,
        }
        batch.add(Note.__table__, s.seal(Note, row, body=body, team_summary=shared))
        batch.audit(
            s.ctx(author),
            at,
            AuditAction.CASE_NOTE_ADDED,
            object_type="note",
            object_id=row["id"],
            case_id=case.id,
            school_id=case.school_id,
            purpose=cls.value,
        )


def facts(s: Seeder, batch: Batch, case: CaseDraft) -> None:
    for k in range(s.rng.randint(1, 4)):
        fid = s.next_id(Fact)
        author = s.rng.choice([case.team.lead, *case.team.members])
        at = case.opened_at + timedelta(hours=8 + 24 * k)
        row = {
            "id": fid,
            "case_id": case.id,
            "series_id": fid,
            "version": 1,
            "superseded_by_id": None,
            "source": s.rng.choice(list(FactSource)).value,
            "learned_on": at.date(),
            "gathered_by": author.id,
            "interviewee_party_id": None,
            "corroborated": s.rng.random() < 0.5,
            "record_class": RecordClass.EDUCATION.value,
            "offence": None,
            "author_id": author.id,
            "created_at": at,
        }
        batch.add(
            Fact.__table__,
            s.seal(Fact, row, statement=s.rng.choice(FACT), corroboration=None, team_summary=None),
        )
        case.fact_series.append(fid)
        batch.audit(
            s.ctx(author),
            at,
            AuditAction.CASE_FACT_ADDED,
            object_type="fact",
            object_id=fid,
            case_id=case.id,
            school_id=case.school_id,
        )


def determination(s: Seeder, batch: Batch, case: CaseDraft) -> None:
    pending = case.status is CaseStatus.ASSESSMENT
    if pending and s.rng.random() < 0.6:
        return
    did = s.next_id(Determination)
    at = case.opened_at + timedelta(days=3)
    level = case.level or "moderate"
    row = {
        "id": did,
        "case_id": case.id,
        "version": 1,
        "model_id": "default",
        "model_version": 1,
        "classification": "transient" if level == "low" else "substantive_serious",
        "level": level,
        "offence": None,
        "status": (DeterminationStatus.PENDING if pending else DeterminationStatus.CONFIRMED).value,
        "recorded_by": case.team.lead.id,
        "recorded_at": at,
        "decided_at": None if pending else at + timedelta(hours=5),
    }
    batch.add(
        Determination.__table__, s.seal(Determination, row, rationale=s.rng.choice(RATIONALE))
    )
    lead = s.ctx(case.team.lead)
    batch.audit(
        lead,
        at,
        AuditAction.CASE_DETERMINATION_RECORDED,
        object_type="determination",
        object_id=did,
        case_id=case.id,
        school_id=case.school_id,
    )
    for k, who in enumerate(
        (
            case.team.lead,
            case.team.by(Discipline.MENTAL_HEALTH),
            case.team.by(Discipline.LAW_ENFORCEMENT),
        )
    ):
        answered = not pending or k == 0 or (k == 1 and s.rng.random() < 0.5)
        prow = {
            "id": s.next_id(Participant),
            "determination_id": did,
            "case_id": case.id,
            "user_id": who.id,
            "discipline": (who.discipline or Discipline.OTHER).value,
            "knows_subject": False,
            "response": (Response.CONFIRMED if answered else Response.PENDING).value,
            "responded_at": at + timedelta(hours=k) if answered else None,
        }
        batch.add(Participant.__table__, s.seal(Participant, prow, objection=None))
        if answered and k:
            batch.audit(
                s.ctx(who),
                at + timedelta(hours=k),
                AuditAction.CASE_DETERMINATION_CONFIRMED,
                object_type="determination",
                object_id=did,
                case_id=case.id,
                school_id=case.school_id,
            )
    for series in case.fact_series:
        batch.add(
            DeterminationFact.__table__,
            {"id": s.next_id(DeterminationFact), "determination_id": did, "fact_series_id": series},
        )
    if pending:
        return
    steps = [(Transition.BEGIN_MANAGEMENT, CaseStatus.ASSESSMENT, CaseStatus.MANAGEMENT)]
    if case.status in (CaseStatus.MONITORING, CaseStatus.CLOSED):
        steps.append((Transition.BEGIN_MONITORING, CaseStatus.MANAGEMENT, CaseStatus.MONITORING))
    if case.status is CaseStatus.CLOSED:
        steps.append((Transition.CLOSE, CaseStatus.MONITORING, CaseStatus.CLOSED))
    when = at + timedelta(hours=5)
    for transition, before, after in steps:
        srow = {
            "id": s.next_id(CaseStatusChange),
            "case_id": case.id,
            "transition": transition.value,
            "from_status": before.value,
            "to_status": after.value,
            "from_level": None,
            "to_level": level,
            "changed_at": when,
            "changed_by": case.team.lead.id,
        }
        batch.add(
            CaseStatusChange.__table__,
            s.seal(
                CaseStatusChange,
                srow,
                reason="Plan items done; monitoring ended."
                if transition is Transition.CLOSE
                else None,
            ),
        )
        batch.audit(
            lead,
            when,
            AuditAction.CASE_STATUS_CHANGED,
            object_type="case",
            object_id=case.id,
            case_id=case.id,
            school_id=case.school_id,
            purpose=transition.value,
        )
        when += timedelta(days=s.rng.randint(7, 40))


def emergency_grant(s: Seeder, batch: Batch, case: CaseDraft) -> None:
    if s.rng.random() >= 0.02 or len(s.teams) < 2:
        return
    other = s.rng.choice([t for t in s.teams if t is not case.team])
    who = other.lead
    at = case.opened_at + timedelta(hours=2)
    gid = s.next_id(EmergencyGrant)
    row = {
        "id": gid,
        "case_id": case.id,
        "user_id": who.id,
        "granted_at": at,
        "expires_at": at + timedelta(hours=4),
        "ended_at": None,
        "audit_seq": None,
    }
    batch.add(
        EmergencyGrant.__table__,
        s.seal(EmergencyGrant, row, threat=THREAT, parties="the students named in the case"),
    )
    batch.audit(
        s.ctx(who),
        at,
        AuditAction.ACCESS_EMERGENCY_GRANTED,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        school_id=case.school_id,
        purpose="health or safety emergency",
    )
    for _party, pid, _part in case.party_ids:
        drow = {
            "id": s.next_id(Disclosure),
            "person_id": pid,
            "case_id": case.id,
            "disclosed_at": at,
            "basis": DisclosureBasis.HEALTH_SAFETY_EMERGENCY.value,
            "emergency_grant_id": gid,
            "recorded_by": who.id,
            "is_emergency": True,
        }
        batch.add(
            Disclosure.__table__,
            s.seal(
                Disclosure,
                drow,
                recipient=f"team lead of another team (user {who.id})",
                interest="articulable and significant threat",
                threat=THREAT,
                parties="the case's students",
            ),
        )


def assignment(s: Seeder, batch: Batch, case: CaseDraft) -> None:
    if s.rng.random() >= 0.15:
        return
    counselor = s.counselors[case.school_id]
    at = case.opened_at + timedelta(days=1)
    row = {
        "id": s.next_id(Assignment),
        "case_id": case.id,
        "user_id": counselor.id,
        "due_on": (at + timedelta(days=7)).date(),
        "done_at": at + timedelta(days=6) if case.status is CaseStatus.CLOSED else None,
        "created_at": at,
        "created_by": case.team.lead.id,
    }
    batch.add(Assignment.__table__, s.seal(Assignment, row, task="Daily check-in with the student"))
    batch.audit(
        s.ctx(case.team.lead),
        at,
        AuditAction.CASE_ASSIGNMENT_ADDED,
        object_type="assignment",
        object_id=row["id"],
        case_id=case.id,
        school_id=case.school_id,
    )


CASE_PARTS: list[Callable[[Seeder, Batch, CaseDraft], None]] = [
    notes,
    facts,
    determination,
    emergency_grant,
    assignment,
]


# --- the command ------------------------------------------------------------------------------


def accounts_file(rt: Runtime) -> Path:
    return Path(rt.settings.instance) / "bench-accounts.json"


def write_accounts(seeder: Seeder, path: Path) -> None:
    def entry(a: Account) -> dict[str, Any]:
        return {
            "id": a.id,
            "username": a.username,
            "role": a.role.value,
            "discipline": a.discipline.value if a.discipline else None,
            "totp_secret": a.secret,
            "school_ids": list(a.school_ids),
        }

    teams = [
        {
            "id": t.id,
            "school_ids": list(t.school_ids),
            "users": [entry(u) for u in [t.lead, *t.members]],
        }
        for t in seeder.teams
    ]
    data = {
        "password": seeder.password,
        "admin": entry(seeder.admin) if seeder.admin else None,
        "auditors": [entry(a) for a in seeder.auditors],
        "teams": teams,
        "counselors": [entry(a) for a in seeder.counselors.values()],
        "staff": [entry(a) for s in seeder.staff.values() for a in s],
        "schools": seeder.schools,
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)


def seed(
    *, cases: int, audit_entries: int, seed_value: int = 15, password: str | None = None
) -> dict[str, float]:
    """Generate the district into the configured stores; return its figures."""
    rt = build_runtime(load_settings())
    db = rt.stores.case_write_sessions()
    try:
        if db.scalar(select(func.count()).select_from(Case.__table__)):
            raise SystemExit("seed: the case store already holds cases; start from `btam init`")
        chosen = password or os.environ.get("BTAM_DEMO_PASSWORD") or secrets.token_urlsafe(18)
        seeder = Seeder(
            rt, db, cases=cases, audit_entries=audit_entries, seed=seed_value, password=chosen
        )
        started = time.perf_counter()
        with click.progressbar(
            length=cases, label="cases", file=sys.stderr, show_pos=True, show_eta=True
        ) as bar:
            seeder.run(bar.update)
        elapsed = time.perf_counter() - started
        write_accounts(seeder, accounts_file(rt))
        db.close()
        started = time.perf_counter()
        if settle(rt.stores.case_engine) + settle(rt.stores.audit_engine):
            print(
                f"vacuumed and analyzed both PostgreSQL stores in "
                f"{time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
    finally:
        db.close()
        rt.stores.dispose()
    figures = {
        "cases": cases,
        "people": seeder.people,
        "reports": seeder.reports,
        "fields": seeder.fields,
        "audit_entries": seeder.entries,
        "seconds": elapsed,
    }
    print(
        f"generated {cases:,} cases, {seeder.people:,} people, {seeder.reports:,} reports, "
        f"{seeder.fields:,} encrypted fields and {seeder.entries:,} audit entries "
        f"in {elapsed:.1f} s: {cases / elapsed:,.0f} cases/s, "
        f"{seeder.fields / elapsed:,.0f} fields/s, {seeder.entries / elapsed:,.0f} entries/s",
        file=sys.stderr,
    )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=5000, help="cases to generate")
    parser.add_argument(
        "--audit-entries", type=int, default=None, help="audit entries (default 20 per case)"
    )
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--password", default=None)
    args = parser.parse_args(argv)
    seed(
        cases=args.scale,
        audit_entries=args.audit_entries or 20 * args.scale,
        seed_value=args.seed,
        password=args.password,
    )


if __name__ == "__main__":
    main()
