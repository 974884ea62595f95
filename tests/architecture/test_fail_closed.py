"""Fail closed, on every route: while the audit store refuses writes, nothing is done unrecorded.

Each persona (the columns of the access matrix) gets its own app on fresh stores, seeded as the
access matrix seeds them (``seed_world``), and a second worker on the same stores whose audit
store answers reads but refuses every write: its SQLite file opened read-only (``mode=ro``),
or on PostgreSQL every transaction read-only (``default_transaction_read_only``), as after a
fail-over to a standby. No mock: the refusal is the database's. The persona's browser, with
one cookie, is answered by either worker, as a load balancer would send it.

- **Audited reads, found, not listed.** Every GET row of the access matrix (which holds a row
  for every route, for every persona) is sent to the working app. When the trail grew, the
  read is audited, and the same GET sent to the refusing worker must answer 503, leave every
  table of the case store unchanged row for row, and add no entry.
- **Every write route.** Every route that accepts POST has a row in ``WRITES_TABLE``: a
  persona who may use it and a form that succeeds. It is sent first to the refusing worker
  (503, every table unchanged, no entry), then, unchanged, to the working app, where it must
  succeed and take effect (see ``EFFECTS``): so the 503 came from the audit store, never
  from the form, the token or the rules.

A route that accepts POST without a row fails :func:`test_every_write_route_has_a_row` by
name, so a new stage's write routes are covered once someone writes the form that succeeds.
Rows of one persona run in the table's order in one world; each leaves behind what it did.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import urlsplit

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, select
from werkzeug.test import TestResponse

from btam.accounts import signin
from btam.accounts.services import users
from btam.assessment.services import determinations
from btam.cases.models import EmergencyGrant
from btam.context import carry_out
from btam.intake import repository as intake_repo
from btam.intake.services import reports, triage
from btam.intake.services.reports import PersonEntry, ReportData
from btam.intake.terms import Channel
from btam.people.terms import Part
from tests.architecture.test_policy_matrix import (
    ANONYMOUS,
    COLUMNS,
    FORMS,
    MATRIX,
    TOKENLESS,
    Probe,
    Refs,
    open_browser,
    outcome,
    rule_of,
    seed_world,
)
from tests.support.cases import PDF, acting_as, grant_emergency, student
from tests.support.outage import worker_refusing_audit_writes
from tests.support.personas import PASSWORD, World, system_ctx
from tests.support.stores import (
    audit_count,
    case_store_digest,
    case_store_tables,
    keep_sessions_fresh,
)
from tests.support.web import Browser, csrf_token, next_code

# What the working app must show after the row's POST:
# - change: the case store changed (a committed change always records its applied entry);
# - trail: the case store did not change and the trail grew: a read recorded in the trail
#   (a search), or a change the trail itself keeps (an auditor's review of a grant);
# - signout: the one exception to failing closed: a sign-out ends the session even while the
#   audit store refuses (a live session left on a shared computer is worse than a sign-out
#   the trail misses). The refusing worker ends the session (only ``user_sessions`` changes),
#   adds no entry and sends the browser to sign-in; the old cookie opens nothing afterwards.
EFFECTS = frozenset({"change", "trail", "signout"})
# Password attempts are counted before anything else, and the count stays even when the
# audit store refuses the rest: an outage must never make guesses free.
COUNTED_WHILE_REFUSED = frozenset({"signin_counters"})

# Rows: the persona, the endpoint, its URL arguments (names of the seeded world, see
# ``seed_world``), the form (from ``WRITE_FORMS``), what is done first (``GIVENS``: "-" is the
# persona's own signed-in browser) and the effect. Within a persona, the table's order.
WRITES_TABLE = """
# persona      endpoint                    URL arguments          form          given                   effect
# ---- the tip line and the sign-in steps, each sign-in step in a browser of its own
anonymous      tips.tip                    -                      TIP           -                       change
anonymous      tips.follow_up              -                      TIP_CODE      -                       trail
anonymous      tips.follow_up              -                      TIP_REPLY     -                       change
anonymous      auth.login                  -                      SIGN_IN_CAM   visitor                 change
anonymous      auth.second_factor          -                      CODE          password_step:lead_ben  change
anonymous      auth.enrol                  -                      CODE          enrol_step:officer_hal  change
anonymous      auth.finish                 -                      -             enrolled:auditor_eve    change
# ---- district administration
admin_fay      admin.schools               -                      SCHOOL        -                       change
admin_fay      admin.team                  -                      NEW_TEAM      -                       change
admin_fay      admin.team                  north_team             NORTH_TEAM    -                       change
admin_fay      admin.set_team_active       south_team/disable     -             -                       change
admin_fay      admin.new_user              -                      NEW_USER      -                       change
admin_fay      admin.edit_user             teacher_cam            EDIT_CAM      -                       change
admin_fay      admin.reset_mfa             lead_ben               -             -                       change
admin_fay      admin.reset_password        teacher_cam            -             -                       change
admin_fay      admin.set_active            teacher_cam/disable    -             -                       change
admin_fay      admin.district              -                      DISTRICT      -                       change
admin_fay      admin.non_school_days       -                      HOLIDAY       -                       change
admin_fay      auth.logout                 -                      -             -                       signout
# ---- cases: the lead manages, the team works the records, the counselor does her work
lead_ben       cases.new                   -                      OPEN_CASE     -                       change
lead_ben       cases.add_member            north                  MEMBER_ANA    -                       change
lead_ben       cases.remove_member         north                  REMOVE_ANA    -                       change
lead_ben       plans.close                 north_quiet            CLOSING_QUIET -                       change
lead_ben       cases.change_status         north_quiet            REOPEN        -                       change
lead_ben       cases.emergency_access      -                      EMERGENCY     -                       change
lead_ben       people.record_disclosure    subject                DISCLOSURE    -                       change
lead_ben       people.merge                kept                   MERGE_DUPLICATE duplicate             change
# ---- assessment: facts, an answer, a determination, a notice; a participant confirms
lead_ben       assessment.add_fact         north                  FACT          -                       change
lead_ben       assessment.correct_fact     north/fact             CORRECTED_FACT -                      change
lead_ben       assessment.answer           north                  ANSWER        -                       change
lead_ben       assessment.record_determination north              DETERMINATION -                       change
lead_ben       assessment.record_notice    north                  NOTICE        -                       change
# ---- meetings: the lead schedules and prepares one, records who is there, the team's
# minutes and decisions, the case closed last; a member acknowledges confidentiality
lead_ben       meetings.schedule_meeting   -                      SCHEDULE      -                       change
lead_ben       meetings.build_agenda       north_meeting          -             -                       change
lead_ben       meetings.add_case           north_meeting          NORTH_CASE    -                       change
lead_ben       meetings.add_topic          north_meeting          TOPIC         -                       change
lead_ben       meetings.move_item          north_meeting/north_item MOVE_DOWN   -                       change
lead_ben       meetings.share_item         north_meeting/north_item SHARE_NO    -                       change
lead_ben       meetings.remove_item        north_meeting/spare_item -           -                       change
lead_ben       meetings.add_attendee       north_meeting          HAL           -                       change
lead_ben       meetings.add_guest          north_meeting          GUEST         -                       change
lead_ben       meetings.record_minutes     north_meeting/north_item MINUTES     -                       change
lead_ben       meetings.record_determination north_meeting/north_item MEETING_DETERMINATION - change
lead_ben       meetings.add_plan_item      north_meeting/north_item ITEM        -                       change
lead_ben       meetings.refer              north_meeting/north_item REFERRAL    -                       change
lead_ben       meetings.review             north_meeting/north_item MEETING_REVIEW north_managed        change
lead_ben       meetings.close_case         north_meeting/quiet_item MEETING_CLOSE -                     change
lead_ben       auth.logout                 -                      -             -                       signout
member_gus     cases.summary               north                  SUMMARY       -                       change
member_gus     cases.add_note              north                  NOTE          -                       change
member_gus     cases.add_attachment        north                  ATTACHMENT    -                       change
member_gus     cases.add_party             north                  PARTY         -                       change
member_gus     plans.add_item              north                  ITEM          -                       change
member_gus     plans.support_plan          north                  SUPPORT       -                       change
member_gus     plans.item_progress         north/assignment       PROGRESS      -                       change
member_gus     people.search               -                      SEARCH        -                       trail
member_gus     assessment.respond          north/determination    CONFIRM       hal_confirmed           change
member_gus     meetings.acknowledge        north_meeting/gus_attendance -       -                       change
# ---- referrals and notifications: the seeded referral's consent, then its sending (with its
# record of disclosure), a new draft, a notification, a subject's documented history
member_gus     referrals.consent           north/referral         CONSENT       -                       change
member_gus     referrals.move              north/referral         SEND          -                       change
member_gus     referrals.draft             north                  REFERRAL      -                       change
member_gus     referrals.notify            north                  NOTIFICATION  -                       change
member_gus     referrals.history           north                  HISTORY       -                       change
member_gus     plans.add_review            north                  CASE_REVIEW   -                       change
# ---- one's own account (the password last: the rows before it confirm with the old one)
member_gus     account.reauthenticate      -                      PASSWORD_ONLY -                       change
member_gus     account.recovery_codes      -                      PASSWORD_ONLY -                       change
member_gus     account.end_other_sessions  -                      -             -                       change
member_gus     account.two_step            -                      TWO_STEP      pending_secret          change
member_gus     account.password            -                      NEW_PASSWORD  -                       change
member_gus     auth.logout                 -                      -             -                       signout
counselor_ana  plans.add_log               north/assignment       LOG           -                       change
counselor_ana  plans.item_status           north/assignment       STATUS        -                       change
counselor_ana  auth.logout                 -                      -             -                       signout
outsider_dee   cases.end_grant             south/active_grant     -             active_grant            change
outsider_dee   auth.logout                 -                      -             -                       signout
# ---- intake and triage
teacher_cam    intake.new                  -                      REPORT        -                       change
teacher_cam    auth.logout                 -                      -             -                       signout
officer_hal    triage.acknowledge          nhs_report             -             -                       change
officer_hal    triage.link_person          nhs_report/nhs_mention LINK_NEW      -                       change
officer_hal    triage.record_action        nhs_report             ACTION        -                       change
officer_hal    triage.message              nhs_tip                REPLY         -                       change
officer_hal    triage.decide               nhs_report             NO_THREAT     -                       change
officer_hal    auth.logout                 -                      -             -                       signout
# ---- the audit trail
auditor_eve    audit.review                grant_entry            REVIEW        -                       trail
auditor_eve    auth.logout                 -                      -             -                       signout
"""  # noqa: E501

NEW_PASSWORD = "violet canyon ledger ninety"
# A form value "@name" is the seeded record or persona ``name``, or what a given step found
# (``code``); a tuple sends the field several times (checkboxes); a key of ``FILES`` uploads.
FormValue = str | tuple[str, ...]
FILES = {"%pdf": ("threat-screenshot.pdf", "application/pdf", PDF)}
WRITE_FORMS: dict[str, dict[str, FormValue]] = {
    **{name: dict(fields) for name, fields in FORMS.items()},
    "SIGN_IN_CAM": {"username": "teacher_cam", "password": PASSWORD},
    "CODE": {"code": "@code"},
    "PASSWORD_ONLY": {"current_password": PASSWORD},
    "TWO_STEP": {"current_password": PASSWORD, "code": "@code"},
    "NEW_PASSWORD": {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    "SCHOOL": {"name": "East Elementary School", "code": "EES"},
    "NEW_TEAM": {"name": "East Team", "school_ids": "@nhs_school", "member_ids": "@member_gus"},
    "NORTH_TEAM": {
        "name": "North High Team",
        "school_ids": "@nhs_school",
        "member_ids": ("@lead_ben", "@member_gus", "@officer_hal"),
    },
    "NEW_USER": {
        "username": "nia.staff",
        "display_name": "Nia Staff",
        "role": "staff",
        "discipline": "",
        "school_ids": "@nhs_school",
    },
    "EDIT_CAM": {
        "display_name": "Cam Teacher-Okafor",
        "role": "staff",
        "discipline": "",
        "school_ids": "@nhs_school",
    },
    "OPEN_CASE": {
        "team_school": "@north_team_at_nhs",
        "summary": "A student said he would fight a classmate after the game.",
        "kind": "student",
        "given_name": "Rowan",
        "family_name": "Pike",
        "date_of_birth": "2011-02-03",
    },
    "ATTACHMENT": {"record_class": "education", "file": "%pdf"},
    "MEMBER_ANA": {"user_id": "@counselor_ana"},
    "CLOSING_QUIET": {
        "rationale": "The note was a song lyric; the student is safe.",
        "final_review": "Nothing was planned: the first screening settled it.",
    },
    "MEETING_CLOSE": {
        "reason": "Closed in the meeting: the note was a song lyric.",
        "final_review": "Nothing was planned: the first screening settled it.",
    },
    "REOPEN": {"move": "reopen_assessment", "reason": "The same song again, with a name."},
    "EMERGENCY": {
        "number": "@south",
        "threat": "The student told a friend he has a gun in his car in the south lot now.",
        "parties": "School resource officer and the principal of South Middle School",
    },
    "REVIEW": {"verdict": "justified"},
    "CONSENT": {
        "consent": "obtained",
        "consent_records": "The threat assessment summary and attendance",
        "consent_purpose": "Counseling intake",
        "consent_recipient": "Riverside Family Clinic",
        "consent_on": "2025-01-15",
    },
    "MERGE_DUPLICATE": {"other_id": "@duplicate"},
    "DISTRICT": {
        "assessment_model": "florida",
        "time_zone": "America/Chicago",
        "review_days_imminent": "1",
        "review_days_high": "5",
        "review_days_moderate": "10",
        "review_days_low": "20",
    },
    "CORRECTED_FACT": {
        "source": "observation",
        "learned_on": "2025-01-10",
        "statement": "Jordan Rivera left a knife drawing in the library, signed with his name.",
        "record_class": "education",
    },
    "SCHEDULE": {
        "team_id": "@north_team",
        "starts_on": "2027-01-12",
        "starts_at": "09:30",
        "place": "Room 204",
        "kind": "urgent",
    },
    "MOVE_DOWN": {"direction": "down"},
    "SHARE_NO": {"shared": "no"},
    "HAL": {"user_id": "@officer_hal"},
    "GUEST": {"name": "Visiting clinician", "affiliation": "County clinic"},
    "MEETING_REVIEW": {"changes": "Reviewed in the meeting: the check-ins hold."},
    "MEETING_DETERMINATION": {
        "kind": "determination",
        "classification": "substantive_serious",
        "level": "high",
        "rationale": "A drawing of a knife and a classmate named, said again in the meeting.",
        "facts": "@fact",
    },
    "DETERMINATION": {
        "classification": "substantive_serious",
        "level": "high",
        "rationale": "A drawing of a knife and a classmate named: a threat he may act on.",
        "facts": "@fact",
        "participants": ("@member_gus", "@officer_hal"),
    },
}


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Write:
    persona: str
    endpoint: str
    args: tuple[str, ...]
    form: str
    given: str
    effect: str

    @property
    def probe(self) -> Probe:
        return Probe("POST", self.endpoint, self.args, self.form, {})

    def label(self) -> str:
        return f"{self.persona}: POST {self.endpoint} {'/'.join(self.args) or '-'} {self.form}"


def parse(table: str) -> tuple[Write, ...]:
    writes = []
    for line in table.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        persona, endpoint, args, form, given, effect = line.split()
        assert persona in COLUMNS, line
        assert form == "-" or form in WRITE_FORMS, line
        assert given == "-" or given.split(":")[0] in GIVENS, line
        assert effect in EFFECTS, line
        arguments = tuple(args.split("/")) if args != "-" else ()
        writes.append(Write(persona, endpoint, arguments, form, given, effect))
    return tuple(writes)


def write_routes_without_a_row(app: Flask) -> list[str]:
    covered = {r.rule for w in WRITES if (r := rule_of(app, w.probe)) is not None}
    return [
        f"{rule.endpoint} ({method} {rule.rule})"
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"})
        if method != "POST" or rule.rule not in covered
    ]


# --------------------------------------------------------------------------- the browser


class Workers:
    """One browser, answered by the working app or by the worker whose audit store refuses,
    with the same cookie either way."""

    def __init__(self, up: Flask, down: Flask, browser: Browser, token: str) -> None:
        self.up: FlaskClient = browser.client
        self.down: FlaskClient = down.test_client()
        self.token = token
        self.cookie_name = str(up.config["SESSION_COOKIE_NAME"])
        found = self.up.get_cookie(self.cookie_name)
        self.cookie = found.value if found else None

    def send(
        self, method: str, url: str, data: dict[str, object], *, down: bool, endpoint: str = ""
    ) -> TestResponse:
        client = self.down if down else self.up
        if self.cookie is None:
            client.delete_cookie(self.cookie_name)
        else:
            client.set_cookie(self.cookie_name, self.cookie)
        if method == "GET":
            response = client.get(url)
        else:
            token = "" if endpoint in TOKENLESS else self.token
            response = client.post(url, data={"csrf_token": token, **data} if token else data)
        found = client.get_cookie(self.cookie_name)
        self.cookie = found.value if found else None
        return response


# --------------------------------------------------------------------------- given steps


@dataclass(frozen=True)
class Start:
    """Where a row starts: a browser of its own (None: the persona's) and values it found."""

    browser: Browser | None = None
    token: str = ""
    values: dict[str, str] = field(default_factory=dict)


def _visitor(app: Flask, world: World, refs: Refs, who: str) -> Start:
    """A browser of its own, at the sign-in page."""
    browser, token = open_browser(app, world, ANONYMOUS)
    return Start(browser, token)


def _past_the_password(app: Flask, world: World, who: str, step: str) -> Start:
    """A visitor who typed ``who``'s password and was sent to ``step``, with that page's token
    (signing in starts a new session, so the login page's token is spent)."""
    browser, token = open_browser(app, world, ANONYMOUS)
    answer = browser.client.post(
        "/login", data={"csrf_token": token, "username": who, "password": PASSWORD}
    )
    assert urlsplit(answer.headers.get("Location", "")).path == step, who
    page = browser.get(step)
    assert page.status_code == 200, step
    return Start(browser, csrf_token(page.get_data(as_text=True)))


def _password_step(app: Flask, world: World, refs: Refs, who: str) -> Start:
    """A visitor past ``who``'s password step; ``@code`` is a current code of its app."""
    start = _past_the_password(app, world, who, "/login/code")
    secret = world.people[who].totp_secret
    assert secret is not None
    return Start(start.browser, start.token, {"code": next_code(secret)})


def _enrol_step(app: Flask, world: World, refs: Refs, who: str) -> Start:
    """``who``'s two-step sign-in reset by the administrator; a visitor past the password
    step, shown the set-up page; ``@code`` is a current code of the secret it shows."""
    user_id = world.people[who].user_id
    ctx = system_ctx(app)  # as ``btam`` at the shell: no password to confirm again
    try:
        carry_out(ctx, users.reset_mfa(ctx, user_id=user_id))
    finally:
        ctx.db.close()
    start = _past_the_password(app, world, who, "/login/setup")
    ctx = system_ctx(app)
    try:
        secret = signin.pending_enrolment(ctx, user_id=user_id).secret
    finally:
        ctx.db.close()
    return Start(start.browser, start.token, {"code": pyotp.TOTP(secret).now()})


def _enrolled(app: Flask, world: World, refs: Refs, who: str) -> Start:
    """As ``_enrol_step``, with the code entered: the recovery codes are shown, and the last
    step is to go on."""
    start = _enrol_step(app, world, refs, who)
    assert start.browser is not None
    shown = start.browser.client.post(
        "/login/setup", data={"csrf_token": start.token, "code": start.values["code"]}
    )
    assert shown.status_code == 200 and "/login/finish" in shown.get_data(as_text=True)
    return Start(start.browser, start.token)


def _pending_secret(app: Flask, world: World, refs: Refs, who: str) -> Start:
    """The persona on its account page moving to a new device: ``@code`` is a current code
    of the new secret."""
    ctx = system_ctx(app)
    try:
        secret = signin.pending_enrolment(ctx, user_id=int(refs.values[who])).secret
    finally:
        ctx.db.close()
    return Start(values={"code": pyotp.TOTP(secret).now()})


def _active_grant(app: Flask, world: World, refs: Refs, who: str) -> Start:
    """member_gus holds a live emergency grant on the south case: ``@active_grant``."""
    grant_emergency(app, world, "member_gus", refs.values["south"])
    with acting_as(app, world, "member_gus") as ctx:
        grant_id = ctx.db.execute(
            select(EmergencyGrant.id).where(EmergencyGrant.ended_at.is_(None))
        ).scalar_one()
    return Start(values={"active_grant": str(grant_id)})


def _duplicate(app: Flask, world: World, refs: Refs, who: str) -> Start:
    """Two records of Taylor Brooks that ``who`` sees: the North High report's, linked as a new
    person, and another report's, linked as a new person again. ``@kept`` and ``@duplicate``."""
    with acting_as(app, world, "teacher_cam") as ctx:
        again = carry_out(
            ctx,
            reports.submit_report(
                ctx,
                ReportData(
                    school_id=world.school_ids["NHS"],
                    channel=Channel.STAFF,
                    occurred="Wednesday after school",
                    location="the gym",
                    narrative="Taylor Brooks repeated the rifle remark in the gym.",
                    people=(
                        PersonEntry(
                            Part.SUBJECT,
                            student("Taylor", "Brooks", born=date(2009, 11, 2), number="S-1003"),
                        ),
                    ),
                ),
            ),
        ).report_id
    linked = []
    with acting_as(app, world, who) as ctx:
        for report_id in (int(refs.values["nhs_report"]), again):
            mention = intake_repo.report_mentions(ctx.db, report_id)[0].id
            carry_out(ctx, triage.link_mention(ctx, report_id, mention, person_id=None))
            linked.append(intake_repo.report_mentions(ctx.db, report_id)[0].person_id)
    kept, duplicate = linked
    return Start(values={"kept": str(kept), "duplicate": str(duplicate)})


Given = Callable[[Flask, World, Refs, str], Start]


def _hal_confirmed(app: Flask, world: World, refs: Refs, who: str) -> Start:
    """officer_hal has confirmed the north determination: ``who``'s confirmation, the last,
    puts the case under management (and gives it its next review date)."""
    with acting_as(app, world, "officer_hal") as ctx:
        carry_out(
            ctx,
            determinations.respond(
                ctx, refs.values["north"], int(refs.values["determination"]), confirm=True
            ),
        )
    return Start()


def _north_managed(app: Flask, world: World, refs: Refs, who: str) -> Start:
    """Every participant still to answer has confirmed the north case's newest determination
    (the meeting's): the case is under management, and a meeting may review it."""
    for participant in ("member_gus", "officer_hal"):
        with acting_as(app, world, participant) as ctx:
            for waiting in determinations.to_confirm(ctx):
                if waiting.case_number == refs.values["north"]:
                    carry_out(
                        ctx,
                        determinations.respond(
                            ctx, waiting.case_number, waiting.determination_id, confirm=True
                        ),
                    )
    return Start()


GIVENS: dict[str, Given] = {
    "hal_confirmed": _hal_confirmed,
    "north_managed": _north_managed,
    "visitor": _visitor,
    "password_step": _password_step,
    "enrol_step": _enrol_step,
    "enrolled": _enrolled,
    "pending_secret": _pending_secret,
    "active_grant": _active_grant,
    "duplicate": _duplicate,
}
WRITES = parse(WRITES_TABLE)


def fill(form: str, values: dict[str, str]) -> dict[str, object]:
    """The form's fields, with the names of seeded records replaced and files opened anew."""

    def one(value: str) -> object:
        if value.startswith("@"):
            return values[value[1:]]
        if value in FILES:
            name, content_type, data = FILES[value]
            return (io.BytesIO(data), name, content_type)
        return value

    return {
        key: [one(v) for v in value] if isinstance(value, tuple) else one(value)
        for key, value in WRITE_FORMS.get(form, {}).items()
    }


# --------------------------------------------------------------------------- the stores


@dataclass(frozen=True)
class Snapshot:
    tables: dict[str, str]
    entries: int

    def changed_tables(self, other: Snapshot) -> list[str]:
        return sorted(
            t
            for t in self.tables
            if self.tables[t] != other.tables.get(t) and t not in COUNTED_WHILE_REFUSED
        )


def snapshot(app: Flask, tables: MetaData) -> Snapshot:
    return Snapshot(case_store_digest(app, tables), audit_count(app))


@dataclass
class Run:
    """One persona's world, its two workers, and what went wrong so far."""

    app: Flask
    down: Flask
    world: World
    refs: Refs
    tables: MetaData
    workers: Workers
    problems: list[str] = field(default_factory=list)
    audited_reads: list[str] = field(default_factory=list)

    def refused(
        self, label: str, method: str, url: str, data: dict[str, object], **kw: str
    ) -> bool:
        """Send to the refusing worker: 503, every table unchanged, no entry. True if so."""
        keep_sessions_fresh(self.app)
        before = snapshot(self.app, self.tables)
        response = self.workers.send(method, url, data, down=True, **kw)
        after = snapshot(self.app, self.tables)
        wrong = []
        if response.status_code != 503:
            wrong.append(f"answered {response.status_code}, not 503")
        if changed := before.changed_tables(after):
            wrong.append(f"changed the case store: {', '.join(changed)}")
        if after.entries != before.entries:
            wrong.append(f"added {after.entries - before.entries} audit entries")
        self.problems.extend(f"{label}: with the audit store refusing, {w}" for w in wrong)
        return not wrong


# --------------------------------------------------------------------------- the checks


def check_audited_reads(run: Run, persona: str) -> None:
    """Every GET of the access matrix that the trail records, refused while it cannot."""
    for probe in MATRIX:
        if probe.method != "GET":
            continue
        url = run.refs.url(run.app, probe)
        entries = audit_count(run.app)
        run.workers.send("GET", url, {}, down=False)
        if audit_count(run.app) == entries:
            continue  # not recorded: nothing to refuse
        label = f"{persona}: GET {url} ({probe.endpoint})"
        run.audited_reads.append(probe.endpoint)
        run.refused(label, "GET", url, {})


def check_write(run: Run, write: Write) -> None:
    name, _, who = write.given.partition(":")
    given = GIVENS.get(name)
    start = given(run.app, run.world, run.refs, who or write.persona) if given else Start()
    if start.browser is not None:
        run = replace(run, workers=Workers(run.app, run.down, start.browser, start.token))
    workers = run.workers
    values = run.refs.values | start.values
    url = Refs(values).url(run.app, write.probe)
    label = f"{write.label()} ({url})"
    if write.effect == "signout":
        check_signout(run, label, url)
        return
    if not run.refused(label, "POST", url, fill(write.form, values), endpoint=write.endpoint):
        return
    keep_sessions_fresh(run.app)
    before = snapshot(run.app, run.tables)
    response = workers.send(
        "POST", url, fill(write.form, values), down=False, endpoint=write.endpoint
    )
    after = snapshot(run.app, run.tables)
    if outcome("POST", response) != "ok" or response.status_code == 400:
        where = response.headers.get("Location", "")
        run.problems.append(
            f"{label}: with both stores up, HTTP {response.status_code} {where}: the form in "
            "WRITES_TABLE must succeed, so that the 503 is the audit store's"
        )
        return
    changed = before.changed_tables(after)
    if write.effect == "change" and not changed:
        run.problems.append(f"{label}: with both stores up, the case store did not change")
    if write.effect == "trail" and (changed or after.entries == before.entries):
        run.problems.append(
            f"{label}: with both stores up, expected only a longer trail; changed {changed}, "
            f"{after.entries - before.entries} new entries"
        )


def check_signout(run: Run, label: str, url: str) -> None:
    """Signing out ends the session while the audit store refuses, and records nothing."""
    old_cookie = run.workers.cookie
    keep_sessions_fresh(run.app)
    before = snapshot(run.app, run.tables)
    response = run.workers.send("POST", url, {}, down=True)
    after = snapshot(run.app, run.tables)
    if outcome("POST", response) != "login":
        run.problems.append(f"{label}: answered {response.status_code}, not the sign-in page")
    if before.changed_tables(after) != ["user_sessions"]:
        run.problems.append(f"{label}: changed {before.changed_tables(after)}, not the session")
    if after.entries != before.entries:
        run.problems.append(f"{label}: added an audit entry to a store that refuses writes")
    # The cookie copied before signing out opens nothing on any worker.
    replay = run.app.test_client()
    assert old_cookie is not None
    replay.set_cookie(run.workers.cookie_name, old_cookie)
    if outcome("GET", replay.get("/dashboard")) != "login":
        run.problems.append(f"{label}: the session outlived the sign-out")


# --------------------------------------------------------------------------- the tests


def test_every_write_route_has_a_row(app: Flask) -> None:
    """Every route that accepts POST has a row in WRITES_TABLE, and every row a route."""
    missing = write_routes_without_a_row(app)
    assert not missing, (
        "routes that write with no row in WRITES_TABLE (add the persona who may use each and "
        "a form that succeeds; the table sends POST only): " + ", ".join(missing)
    )
    stale = [w.label() for w in WRITES if rule_of(app, w.probe) is None]
    assert not stale, "WRITES_TABLE rows that match no route: " + ", ".join(stale)


# Reads the sweep must find recorded, so that it cannot pass by finding none.
KNOWN_AUDITED_READS = {
    "lead_ben": {"cases.show", "cases.attachment", "people.show", "triage.report", "triage.file"},
    "auditor_eve": {"audit.index", "audit.export", "people.show"},
}


@pytest.mark.parametrize("persona", COLUMNS)
def test_nothing_is_done_unrecorded_while_the_audit_store_refuses(
    app: Flask, world: World, overrides: dict[str, object], persona: str
) -> None:
    refs = seed_world(app, world)
    refs = Refs(
        refs.values
        | {
            "north_team_at_nhs": f"{refs.values['north_team']}:{refs.values['nhs_school']}",
            "disable": "disable",
        }
    )
    tables = case_store_tables(app)
    with worker_refusing_audit_writes(overrides) as down:
        browser, token = open_browser(app, world, persona)
        run = Run(app, down, world, refs, tables, Workers(app, down, browser, token))
        check_audited_reads(run, persona)
        for write in WRITES:
            if write.persona == persona:
                check_write(run, write)
    problems, found = run.problems, set(run.audited_reads)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
    missing = KNOWN_AUDITED_READS.get(persona, set()) - found
    assert not missing, f"reads not found recorded in the trail: {sorted(missing)}"
