"""The access matrix: every route of the app, for every persona and a visitor, on seeded cases.

``MATRIX`` below is the one table of what each persona gets from each route. A route the app
registers without a row there fails :func:`test_policy_matrix` by name: a new route is not
done until someone decides, in that table, who may open it.

The world (tests/support/personas.py) has two schools and two teams; ``seed_cases`` gives the
north team two cases at North High (``north``, with notes and files of every record class and
work for counselor_ana; ``north_quiet``, with nothing assigned) and the south team one at
South Middle. Each persona runs the whole table in its own fresh app, so what one POST changes
(a note, a finished assignment) never reaches another persona's expectations.

Outcomes, one column per persona:

- ``ok``: the page (200), a redirect to a page other than sign-in (302), or, for a POST, the
  form shown again with its validation errors (400). POSTs carry a valid CSRF token and an
  empty or a minimal valid form, so a refusal comes from the permission or the policy, never
  from the token;
- ``403``: the role may not open this kind of page (route permission), or the policy refuses
  an action on a case whose header the persona may see;
- ``404``: the record is outside what the persona may see; nothing tells it apart from a
  record that does not exist;
- ``login``: a redirect to the sign-in page (a visitor; a later sign-in step with no sign-in
  in progress; signing out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from btam.audit.actions import AuditAction, Outcome
from btam.audit.models import AuditEntry
from btam.cases.models import EmergencyGrant
from btam.cases.services import cases, emergency
from btam.cases.terms import RecordClass
from tests.support.cases import acting_as, grant_emergency, seed_cases
from tests.support.personas import World
from tests.support.stores import audit_entries
from tests.support.web import Browser, csrf_token, signed_in

ANONYMOUS = "anonymous"
COLUMNS = (
    "admin_fay",
    "lead_ben",
    "member_gus",
    "officer_hal",
    "counselor_ana",
    "teacher_cam",
    "outsider_dee",
    "auditor_eve",
    ANONYMOUS,
)
OUTCOMES = frozenset({"ok", "403", "404", "login"})
# Routes that end the session: sent last.
SESSION_ENDING = frozenset({"auth.logout"})

# Forms the table's POSTs send ("-" is an empty form). A value "@name" stands for the seeded
# record or persona ``name`` (see ``seed_world``).
FORMS: dict[str, dict[str, str]] = {
    "NOTE": {"record_class": "education", "body": "Spoke with Jordan Rivera about the knife."},
    "SUMMARY": {"summary": "Jordan Rivera said in class he would bring a knife on Friday."},
    "PARTY": {
        "part": "witness",
        "kind": "student",
        "given_name": "Riley",
        "family_name": "Rivera",
        "date_of_birth": "2010-05-05",
    },
    "SEARCH": {
        "kind": "student",
        "given_name": "Jordan",
        "family_name": "Rivera",
        "date_of_birth": "2010-03-14",
    },
    "DISCLOSURE": {
        "basis": "parent_consent",
        "recipient": "Rivera family, by letter",
        "interest": "Parents of Jordan Rivera consented in writing.",
        "disclosed_on": "2025-01-15",
    },
    "WORK": {"user_id": "@counselor_ana", "task": "Check in with Jordan Rivera after lunch."},
    # counselor_ana is a member of no case: only a lead gets as far as finding that out.
    "REMOVE_ANA": {"user_id": "@counselor_ana"},
    # Someone of the south case, slipped by id into a form on another case.
    "SOUTH_PARTY": {"part": "witness", "kind": "student", "person_id": "@south_subject"},
}

# Words of the seeded cases and of the forms above: none may ever reach the audit store.
CASE_CONTENT = (
    "Jordan",
    "Rivera",
    "Riley",
    "Casey",
    "Morgan",
    "knife",
    "locker",
    "social media",
    "S-1001",
    "S-1002",
    "S-2001",
    "2010-03-14",
    "Met the parents",
    "Session notes",
    "safety plan",
    "Evidence log",
    "No weapon",
    "statement.pdf",
    "screening.pdf",
    "evidence.txt",
    "screenshot",
    "Weekly check-in",
    "gun in his car",
    "resource officer and the principal",
)

# URL arguments, in the order of the route's URL, name seeded records (see ``seed_world``):
#   cases: north | north_quiet | south | no_such_case
#   people: subject (Jordan Rivera, on north) | south_subject (on south) | no_such_person
#   files, all on north: education_file | counseling_file | law_enforcement_file
#   assignment: counselor_ana's work on north
#   grant: the emergency grant counselor_ana took on south, already ended;
#   grant_entry: its audit entry (the auditors' review queue)
#   north_team, teacher_cam (a user id), enable, stylesheet (a static file)
MATRIX_TABLE = """
# method endpoint                 URL arguments              form        fay ben gus hal ana cam dee eve anon
# ---- public: no sign-in needed; the later sign-in steps with none in progress go back to the first
GET  health.healthz               -                          -           ok  ok  ok  ok  ok  ok  ok  ok  ok
GET  static                       stylesheet                 -           ok  ok  ok  ok  ok  ok  ok  ok  ok
GET  auth.login                   -                          -           ok  ok  ok  ok  ok  ok  ok  ok  ok
POST auth.login                   -                          -           ok  ok  ok  ok  ok  ok  ok  ok  ok
GET  auth.second_factor           -                          -           login login login login login login login login login
POST auth.second_factor           -                          -           login login login login login login login login login
GET  auth.enrol                   -                          -           login login login login login login login login login
POST auth.enrol                   -                          -           login login login login login login login login login
POST auth.finish                  -                          -           login login login login login login login login login
POST auth.logout                  -                          -           login login login login login login login login login
# ---- every signed-in role
GET  main.home                    -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
GET  main.dashboard               -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
GET  account.index                -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
GET  account.password             -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
POST account.password             -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
POST account.recovery_codes       -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
POST account.end_other_sessions   -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
GET  account.two_step             -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
POST account.two_step             -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
# ---- district administration: admin_fay only
GET  admin.index                  -                          -           ok  403 403 403 403 403 403 403 login
GET  admin.schools                -                          -           ok  403 403 403 403 403 403 403 login
POST admin.schools                -                          -           ok  403 403 403 403 403 403 403 login
GET  admin.team                   -                          -           ok  403 403 403 403 403 403 403 login
POST admin.team                   -                          -           ok  403 403 403 403 403 403 403 login
GET  admin.team                   north_team                 -           ok  403 403 403 403 403 403 403 login
POST admin.team                   north_team                 -           ok  403 403 403 403 403 403 403 login
POST admin.set_team_active        north_team/enable          -           ok  403 403 403 403 403 403 403 login
GET  admin.new_user               -                          -           ok  403 403 403 403 403 403 403 login
POST admin.new_user               -                          -           ok  403 403 403 403 403 403 403 login
GET  admin.edit_user              teacher_cam                -           ok  403 403 403 403 403 403 403 login
POST admin.edit_user              teacher_cam                -           ok  403 403 403 403 403 403 403 login
POST admin.set_active             teacher_cam/enable         -           ok  403 403 403 403 403 403 403 login
POST admin.reset_password         teacher_cam                -           ok  403 403 403 403 403 403 403 login
POST admin.reset_mfa              teacher_cam                -           ok  403 403 403 403 403 403 403 login
# ---- the audit trail: auditor_eve only
GET  audit.index                  -                          -           403 403 403 403 403 403 403 ok  login
GET  audit.export                 -                          -           403 403 403 403 403 403 403 ok  login
GET  audit.grants                 -                          -           403 403 403 403 403 403 403 ok  login
POST audit.review                 grant_entry                -           403 403 403 403 403 403 403 ok  login
# ---- cases: the district admin, staff and the auditor never reach a case page (403)
GET  cases.index                  -                          -           403 ok  ok  ok  ok  403 ok  403 login
GET  cases.new                    -                          -           403 ok  ok  ok  403 403 ok  403 login
POST cases.new                    -                          -           403 ok  ok  ok  403 403 ok  403 login
GET  cases.emergency_access       -                          -           403 ok  ok  ok  ok  403 ok  403 login
POST cases.emergency_access       -                          -           403 ok  ok  ok  ok  403 ok  403 login
# The north team sees North High's cases, outsider_dee South Middle's; counselor_ana only the
# header of the case that gives her work.
GET  cases.show                   north                      -           403 ok  ok  ok  ok  403 404 403 login
GET  cases.show                   north_quiet                -           403 ok  ok  ok  404 403 404 403 login
GET  cases.show                   south                      -           403 404 404 404 404 403 ok  403 login
GET  cases.show                   no_such_case               -           403 404 404 404 404 403 404 403 login
# Work on a case. The policy decides before the form is read: counselor_ana (header only)
# and, for members, everyone but the lead are refused (and audited) whatever they send; an
# empty form comes back with its errors (400) to whoever may do the work.
POST cases.summary                north                      -           403 ok  ok  ok  403 403 404 403 login
POST cases.summary                north                      SUMMARY     403 ok  ok  ok  403 403 404 403 login
POST cases.summary                south                      SUMMARY     403 404 404 404 404 403 ok  403 login
POST cases.add_note               north                      -           403 ok  ok  ok  403 403 404 403 login
POST cases.add_note               north                      NOTE        403 ok  ok  ok  403 403 404 403 login
POST cases.add_note               south                      NOTE        403 404 404 404 404 403 ok  403 login
POST cases.add_note               no_such_case               NOTE        403 404 404 404 404 403 404 403 login
POST cases.add_attachment         north                      -           403 ok  ok  ok  403 403 404 403 login
POST cases.add_attachment         south                      -           403 404 404 404 404 403 ok  403 login
POST cases.add_party              north                      -           403 ok  ok  ok  403 403 404 403 login
POST cases.add_party              north                      PARTY       403 ok  ok  ok  403 403 404 403 login
POST cases.add_party              south                      PARTY       403 404 404 404 404 403 ok  403 login
POST cases.add_party              north                      SOUTH_PARTY 403 404 404 404 403 403 404 403 login
POST cases.add_member             north                      -           403 ok  403 403 403 403 404 403 login
POST cases.add_member             south                      -           403 404 404 404 404 403 ok  403 login
POST cases.remove_member          north                      -           403 ok  403 403 403 403 404 403 login
POST cases.remove_member          north                      REMOVE_ANA  403 404 403 403 403 403 404 403 login
POST cases.assign                 north                      -           403 ok  ok  ok  403 403 404 403 login
POST cases.assign                 north                      WORK        403 ok  ok  ok  403 403 404 403 login
POST cases.assign                 south                      WORK        403 404 404 404 404 403 ok  403 login
# The assignee or the team marks work done; the same id through another case is unknown.
POST cases.assignment_done        north/assignment           -           403 ok  ok  ok  ok  403 404 403 login
POST cases.assignment_done        south/assignment           -           403 404 404 404 404 403 404 403 login
# Files: education to the case's team, counseling to mental health, law enforcement to the
# officer; none to counselor_ana (header only); none through another case's URL.
GET  cases.attachment             north/education_file       -           403 ok  ok  ok  404 403 404 403 login
GET  cases.attachment             north/counseling_file      -           403 404 ok  404 404 403 404 403 login
GET  cases.attachment             north/law_enforcement_file -           403 404 404 ok  404 403 404 403 login
GET  cases.attachment             north_quiet/education_file -           403 404 404 404 404 403 404 403 login
GET  cases.attachment             south/education_file       -           403 404 404 404 404 403 404 403 login
# Ending a grant: its holder or the lead of the case. This one has ended already: the lead is
# told so on the case list; its former holder no longer sees the case.
POST cases.end_grant              south/grant                -           403 404 404 404 404 403 ok  403 login
POST cases.end_grant              north/grant                -           403 404 404 404 404 403 404 403 login
# ---- people: the team finds and reads the people of its cases; the auditor reads every
# person's record of disclosures and nothing else of the person.
GET  people.search                -                          -           403 ok  ok  ok  403 403 ok  403 login
POST people.search                -                          -           403 ok  ok  ok  403 403 ok  403 login
POST people.search                -                          SEARCH      403 ok  ok  ok  403 403 ok  403 login
GET  people.disclosures           -                          -           403 403 403 403 403 403 403 ok  login
GET  people.show                  subject                    -           403 ok  ok  ok  404 403 404 ok  login
GET  people.show                  south_subject              -           403 404 404 404 404 403 ok  ok  login
GET  people.show                  no_such_person             -           403 404 404 404 404 403 404 404 login
POST people.record_disclosure     subject                    -           403 ok  ok  ok  403 403 404 403 login
POST people.record_disclosure     subject                    DISCLOSURE  403 ok  ok  ok  403 403 404 403 login
POST people.record_disclosure     south_subject              DISCLOSURE  403 404 404 404 403 403 ok  403 login
"""  # noqa: E501


# --------------------------------------------------------------------------- the table


_ARGUMENT = re.compile(r"<(?:[^<>]*:)?(\w+)>")


@dataclass(frozen=True)
class Probe:
    method: str
    endpoint: str
    args: tuple[str, ...]
    form: str
    expect: dict[str, str]

    def label(self) -> str:
        args = "/".join(self.args) or "-"
        return f"{self.method} {self.endpoint} {args} form={self.form}"


def parse(table: str) -> tuple[Probe, ...]:
    probes = []
    for line in table.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        method, endpoint, args, form, *outcomes = line.split()
        assert method in {"GET", "POST"}, line
        assert form == "-" or form in FORMS, line
        assert len(outcomes) == len(COLUMNS), f"{len(outcomes)} outcomes: {line}"
        assert set(outcomes) <= OUTCOMES, line
        expect = dict(zip(COLUMNS, outcomes, strict=True))
        probes.append(
            Probe(method, endpoint, tuple(args.split("/")) if args != "-" else (), form, expect)
        )
    return tuple(probes)


MATRIX = parse(MATRIX_TABLE)


def arguments(rule: Rule) -> list[str]:
    """The names of the rule's URL arguments, in the order of the URL."""
    return _ARGUMENT.findall(rule.rule)


def rule_of(app: Flask, probe: Probe) -> Rule | None:
    for rule in app.url_map.iter_rules():
        if (
            rule.endpoint == probe.endpoint
            and probe.method in (rule.methods or set())
            and len(arguments(rule)) == len(probe.args)
        ):
            return rule
    return None


def routes_missing_from_the_table(app: Flask) -> list[str]:
    covered = {(p.method, r.rule) for p in MATRIX if (r := rule_of(app, p)) is not None}
    return [
        f"{rule.endpoint} ({method} {rule.rule})"
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        if (method, rule.rule) not in covered
    ]


def rows_without_a_route(app: Flask) -> list[str]:
    return [p.label() for p in MATRIX if rule_of(app, p) is None]


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class Refs:
    """What the table's names stand for in one seeded world."""

    values: dict[str, str]

    def url(self, app: Flask, probe: Probe) -> str:
        rule = rule_of(app, probe)
        assert rule is not None, probe.label()
        filled = iter(quote(self.values[name], safe="/") for name in probe.args)
        return _ARGUMENT.sub(lambda _m: next(filled), rule.rule)

    def form(self, name: str) -> dict[str, str]:
        data = FORMS.get(name, {})
        return {k: self.values[v[1:]] if v.startswith("@") else v for k, v in data.items()}


def seed_world(app: Flask, world: World) -> Refs:
    """``seed_cases``, and an emergency grant counselor_ana took on the south case and ended."""
    seeded = seed_cases(app, world)
    grant_emergency(app, world, "counselor_ana", seeded.south)
    with acting_as(app, world, "counselor_ana") as ctx:
        grant_id = ctx.db.execute(select(EmergencyGrant.id)).scalar_one()
        emergency.end_grant(ctx, seeded.south, grant_id)
    with acting_as(app, world, "outsider_dee") as ctx:
        south_subject = cases.view_case(ctx, seeded.south).parties[0].person_id
    grant_entry = audit_entries(app, str(AuditAction.ACCESS_EMERGENCY_GRANTED))[0].seq
    files = seeded.attachment_ids
    values = {name: str(person.user_id) for name, person in world.people.items()}
    values |= {
        "north": seeded.north,
        "north_quiet": seeded.north_quiet,
        "south": seeded.south,
        "no_such_case": "1999-0001",
        "subject": str(seeded.subject_id),
        "south_subject": str(south_subject),
        "no_such_person": "999999",
        "education_file": str(files[RecordClass.EDUCATION]),
        "counseling_file": str(files[RecordClass.COUNSELING]),
        "law_enforcement_file": str(files[RecordClass.LAW_ENFORCEMENT]),
        "assignment": str(seeded.assignment_id),
        "grant": str(grant_id),
        "grant_entry": str(grant_entry),
        "north_team": str(world.team_ids["north"]),
        "enable": "enable",
        "stylesheet": "css/btam.css",
    }
    return Refs(values)


def open_browser(app: Flask, world: World, persona: str) -> tuple[Browser, str]:
    """A browser signed in as ``persona`` (or a visitor's), and its session's CSRF token."""
    if persona == ANONYMOUS:
        browser = Browser(app.test_client())
        return browser, csrf_token(browser.get("/login").get_data(as_text=True))
    browser = signed_in(app, world, persona)
    return browser, csrf_token(browser.get("/account/").get_data(as_text=True))


def send(browser: Browser, token: str, method: str, url: str, data: dict[str, str]) -> TestResponse:
    if method == "GET":
        return browser.get(url)
    return browser.client.post(url, data={"csrf_token": token, **data})


def outcome(method: str, response: TestResponse) -> str:
    status = response.status_code
    if status in {403, 404}:
        return str(status)
    if status == 302:
        return "login" if urlsplit(response.headers["Location"]).path == "/login" else "ok"
    if status == 200 or (status == 400 and method == "POST"):
        return "ok"
    return f"HTTP {status}"


def run_matrix(app: Flask, world: World, persona: str) -> list[str]:
    """Send every row of the table as ``persona``; return the disagreements, one a line."""
    refs = seed_world(app, world)
    browser, token = open_browser(app, world, persona)
    wrong = []
    for probe in sorted(MATRIX, key=lambda p: p.endpoint in SESSION_ENDING):
        url = refs.url(app, probe)
        response = send(browser, token, probe.method, url, refs.form(probe.form))
        got = outcome(probe.method, response)
        if got != probe.expect[persona]:
            where = response.headers.get("Location")
            wrong.append(
                f"{persona}: {probe.label()} ({probe.method} {url}) -> {got} "
                f"(HTTP {response.status_code}{' to ' + where if where else ''}), "
                f"expected {probe.expect[persona]}"
            )
    return wrong


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("persona", COLUMNS)
def test_policy_matrix(app: Flask, world: World, persona: str) -> None:
    """Every route for this persona: the outcome the table says; and every route has a row."""
    missing = routes_missing_from_the_table(app)
    assert not missing, "routes with no row in MATRIX_TABLE: " + ", ".join(missing)
    stale = rows_without_a_route(app)
    assert not stale, "MATRIX_TABLE rows that match no route: " + ", ".join(stale)
    wrong = run_matrix(app, world, persona)
    assert not wrong, f"{len(wrong)} outcome(s) differ from MATRIX_TABLE:\n" + "\n".join(wrong)


# Someone who sees one case changes a number or an id in a URL or a form to reach another:
# persona, method, URL ({name} as in the table), form, and the refusal's audited object.
TAMPERING = (
    ("lead_ben", "GET", "/cases/{south}", "-", "case", "south"),
    ("lead_ben", "GET", "/people/{south_subject}", "-", "person", "south_subject"),
    ("lead_ben", "POST", "/cases/{south}/notes", "NOTE", "case", "south"),
    ("lead_ben", "GET", "/cases/{south}/attachments/{education_file}", "-", "case", "south"),
    # A case lead_ben sees, with the file of another of his cases.
    (
        "lead_ben",
        "GET",
        "/cases/{north_quiet}/attachments/{education_file}",
        "-",
        "attachment",
        "education_file",
    ),
    ("lead_ben", "POST", "/cases/{north}/parties", "SOUTH_PARTY", "person", "south_subject"),
    (
        "lead_ben",
        "POST",
        "/people/{south_subject}/disclosures",
        "DISCLOSURE",
        "person",
        "south_subject",
    ),
    ("lead_ben", "POST", "/cases/{north}/grants/{grant}/end", "-", "emergency_grant", "grant"),
    ("counselor_ana", "GET", "/cases/{north_quiet}", "-", "case", "north_quiet"),
    ("counselor_ana", "GET", "/cases/{north}/attachments/{education_file}", "-", "case", "north"),
    (
        "member_gus",
        "GET",
        "/cases/{north}/attachments/{law_enforcement_file}",
        "-",
        "attachment",
        "law_enforcement_file",
    ),
    (
        "outsider_dee",
        "GET",
        "/cases/{south}/attachments/{education_file}",
        "-",
        "attachment",
        "education_file",
    ),
    (
        "outsider_dee",
        "POST",
        "/cases/{south}/assignments/{assignment}/done",
        "-",
        "assignment",
        "assignment",
    ),
    ("outsider_dee", "POST", "/cases/{north}/notes", "NOTE", "case", "north"),
)


def test_a_changed_number_or_id_is_refused_and_audited(app: Flask, world: World) -> None:
    refs = seed_world(app, world)
    denied = str(AuditAction.ACCESS_RECORD_DENIED)
    browsers: dict[str, tuple[Browser, str]] = {}
    problems = []
    for persona, method, template, form, object_type, object_name in TAMPERING:
        if persona not in browsers:
            browsers[persona] = open_browser(app, world, persona)
        browser, token = browsers[persona]
        url = template.format(**refs.values)
        before = len(audit_entries(app, denied))
        response = send(browser, token, method, url, refs.form(form))
        new = audit_entries(app, denied)[before:]
        if response.status_code != 404:
            problems.append(f"{persona} {method} {url}: HTTP {response.status_code}, not 404")
        expected = (
            world.people[persona].user_id,
            str(Outcome.DENIED),
            object_type,
            refs.values[object_name],
        )
        seen = [(e.actor_id, e.outcome, e.object_type, e.object_id) for e in new]
        if seen != [expected]:
            problems.append(
                f"{persona} {method} {url}: audited {seen}, expected one {denied} {expected}"
            )
    assert not problems, "\n".join(problems)


def _audit_rows(app: Flask) -> list[AuditEntry]:
    with app.extensions["btam"].stores.audit_sessions() as db:
        return list(db.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())


@pytest.mark.parametrize("persona", COLUMNS)
def test_the_audit_trail_holds_no_case_content(app: Flask, world: World, persona: str) -> None:
    """Seeding, then every row of the table as ``persona``: no name, narrative or file name
    reaches any column of any audit entry."""
    run_matrix(app, world, persona)
    rows = _audit_rows(app)
    if persona != ANONYMOUS:
        assert any(e.actor_id == world.people[persona].user_id for e in rows), "not audited"
    columns = [c.key for c in AuditEntry.__table__.columns]
    found = [
        f"seq {entry.seq} {entry.action} {column}: {word!r}"
        for entry in rows
        for column in columns
        for word in CASE_CONTENT
        if word.casefold() in str(getattr(entry, column) or "").casefold()
    ]
    assert not found, "case content in the audit trail:\n" + "\n".join(found)
