"""The access matrix: every route of the app, for every persona and a visitor, on seeded cases.

``MATRIX`` below is the one table of what each persona gets from each route. A route the app
registers without a row there fails :func:`test_policy_matrix` by name: a new route is not
done until someone decides, in that table, who may open it.

The world (tests/support/personas.py) has two schools and two teams; ``seed_cases`` gives the
north team two cases at North High (``north``, with notes and files of every record class and
work for counselor_ana; ``north_quiet``, with nothing assigned) and the south team one at
South Middle; ``seed_reports`` gives each school a report by teacher_cam (with a file; North
High's names a subject and flags an imminent danger) and an anonymous tip waiting for triage.
Each persona runs the whole table in its own fresh app, so what one POST changes (a note, a
finished assignment, a triaged report, a tip counted by the tip line's rate limit) never
reaches another persona's expectations; within one persona, rows run in the table's order.

Outcomes, one column per persona:

- ``ok``: the page (200), a redirect to a page other than sign-in (302), or, for a POST, the
  form shown again with its validation errors (400). POSTs carry a valid CSRF token and an
  empty or a minimal valid form, so a refusal comes from the permission or the policy, never
  from the token (the tip line's forms have no token and none is sent: see ``TOKENLESS``);
- ``400``: a POST answered with the form again and its errors (400), and nothing else: the
  service refused what the form asked (a wrong follow-up code; another team's case named in
  a form on a report the persona may triage), so nothing changed;
- ``403``: the role may not open this kind of page (route permission), or the policy refuses
  an action on a case whose header the persona may see;
- ``404``: the record is outside what the persona may see; nothing tells it apart from a
  record that does not exist;
- ``login``: a redirect to the sign-in page (a visitor; a later sign-in step with no sign-in
  in progress; signing out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, is_dataclass
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask, template_rendered
from jinja2 import Template
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from btam.access.record_classes import RecordClass
from btam.assessment.services import determinations, facts
from btam.assessment.terms import FactSource
from btam.audit.actions import AuditAction, Outcome
from btam.audit.models import AuditEntry
from btam.cases.models import EmergencyGrant
from btam.cases.services import emergency, page
from btam.cases.services.guard import load_case
from btam.context import carry_out
from btam.db import AuditBase, CaseBase
from btam.intake.services.tips import LOOKUP_CHARS
from btam.meetings import repository as meetings_repo
from btam.meetings.services import agenda, attendance
from btam.meetings.terms import ItemKind
from btam.plans.referral_terms import Consent, Destination
from btam.plans.services import calendar, referrals
from tests.support.cases import Seeded, acting_as, grant_emergency, seed_cases, seed_reports
from tests.support.markup import markup_problems
from tests.support.meetings import schedule_meeting
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
OUTCOMES = frozenset({"ok", "400", "403", "404", "login"})
# Routes that end the session: sent last.
SESSION_ENDING = frozenset({"auth.logout"})
# The anonymous tip line: no session needed, so its forms carry no CSRF token; the table's
# POSTs to it are sent without one, as a tipster's browser would send them.
TOKENLESS = frozenset({"tips.tip", "tips.follow_up"})

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
    "ITEM": {
        "intervention": "other",
        "description": "Check in with Jordan Rivera after lunch.",
        "aim": "subject",
        "owner_id": "@counselor_ana",
    },
    "STATUS": {"status": "in_progress"},
    "PROGRESS": {"body": "Jordan Rivera came to the check-in."},
    "LOG": {
        "held_on": "@today",
        "minutes": "20",
        "kind": "check_in",
        "private_notes": "Jordan Rivera talked about home.",
        "team_summary": "Calm; came on time.",
    },
    "CASE_REVIEW": {"changes": "Jordan Rivera's plan reviewed."},
    "SUPPORT": {"plan": "504"},
    "CLOSING": {"rationale": "Jordan Rivera moved away.", "final_review": "Nothing left."},
    "HOLIDAY": {"day": "@today", "action": "add"},
    # counselor_ana is a member of no case: only a lead gets as far as finding that out.
    "REMOVE_ANA": {"user_id": "@counselor_ana"},
    # Someone of the south case, slipped by id into a form on another case.
    "SOUTH_PARTY": {"part": "witness", "kind": "student", "person_id": "@south_subject"},
    # Assessment: a fact, an answer citing it, a participant's confirmation, a notice.
    "FACT": {
        "source": "observation",
        "learned_on": "2025-01-10",
        "statement": "Jordan Rivera left a knife drawing in the library.",
        "record_class": "education",
    },
    "ANSWER": {
        "question": "motives",
        "value": "yes",
        "note": "Anger at a classmate.",
        "facts": "@fact",
    },
    "CONFIRM": {"decision": "confirm"},
    "NOTICE": {
        "kind": "superintendent",
        "recipient": "Dr. Alvarez, the superintendent's designee",
        "given_on": "2025-01-15",
        "method": "phone",
    },
    # Referrals and notifications: a referral drafted (its consent refused), the seeded
    # referral sent on its consent, a notification, a subject's documented history.
    "REFERRAL": {
        "destination": "community_mental_health",
        "agency": "Harbor Clinic",
        "reason": "Counseling for Jordan Rivera.",
        "consent": "refused",
        "follow_up_on": "2099-01-15",
        "record_class": "education",
    },
    "SEND": {"move": "send", "follow_up_on": "2099-01-15"},
    "NOTIFICATION": {
        "audience": "other",
        "recipient": "Principal Harlow",
        "notified_on": "2025-01-15",
        "method": "phone",
        "summary": "Told of the threat by Jordan Rivera.",
        "record_class": "education",
    },
    "HISTORY": {"person_id": "@subject", "kind": "weapon", "documented_in": "Knife in locker."},
    # Intake: a staff report naming a subject; an anonymous tip; the tipster's follow-up.
    "REPORT": {
        "school_id": "@nhs_school",
        "channel": "staff",
        "location": "the science wing",
        "narrative": "Parker Ellis said he would set fire to the science lab.",
        "people-0-part": "subject",
        "people-0-kind": "student",
        "people-0-given_name": "Parker",
        "people-0-family_name": "Ellis",
    },
    "TIP": {
        "school_id": "@nhs_school",
        "category": "violence",
        "what": "Quinn Harlow plans a fight behind the portable classrooms.",
        "who": "Quinn Harlow",
    },
    "TIP_CODE": {"code": "@tip_code"},
    "TIP_REPLY": {"code": "@tip_code", "message": "It is a red duffel, not a gym bag."},
    "WRONG_CODE": {"code": "ABCD-EFGH-JKLM-NPQR-STUV-WXYZ"},
    # Triage: an immediate action, a reply to the tipster, and outcomes.
    "ACTION": {"action": "lockdown", "taken_by": "Coach Lindqvist", "taken_at": "2025-01-15 08:30"},
    "REPLY": {"body": "Which bus does the student take in the morning?"},
    "NO_THREAT": {
        "outcome": "no_threat",
        "reason": "The photo was from a hunting trip two years ago.",
        "no_threat_action": "information_only",
    },
    # A report of one school slipped into the other team's case, or a case opened for it by
    # the other team: the service refuses what the form asks.
    "TO_SOUTH": {"outcome": "added_to_case", "case_number": "@south"},
    "TO_NORTH": {"outcome": "added_to_case", "case_number": "@north"},
    "OPEN_SOUTH": {"outcome": "opened_case", "team_id": "@south_team", "summary": "Pep rally."},
    # Triage: a person a report names, linked to a new person, or to one of another school's
    # cases slipped in by id.
    "LINK_NEW": {"person": "new"},
    "LINK_SOUTH": {"person": "@south_subject"},
    # People: the South case's subject slipped in as a duplicate of the North one's.
    "MERGE_SOUTH": {"other_id": "@south_subject"},
    "OPEN_NORTH": {
        "outcome": "opened_case",
        "team_id": "@north_team",
        "summary": "Hit list.",
        "subject_given_name": "Avery",
        "subject_family_name": "Quinn",
    },
    # Meetings: a case of the team, or of another team, put on the agenda; a topic; minutes.
    "NORTH_CASE": {"number": "@north"},
    "SOUTH_CASE": {"number": "@south"},
    "TOPIC": {"topic": "Bus duty rota for the spring term"},
    "MINUTES": {"body": "Jordan Rivera agreed to daily check-ins with the counselor."},
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
    # the assessment
    "knife drawing",
    "drew a knife",
    "binder",
    "Anger at a classmate",
    "named a classmate",
    "Alvarez",
    # seed_reports
    "Taylor",
    "Brooks",
    "S-1003",
    "2009-11-02",
    "rifle",
    "pep rally",
    "cafeteria",
    "Tuesday at lunch",
    "rally-message",
    "Okonkwo",
    "Avery",
    "Quinn",
    "hit list",
    "hit-list-photo",
    "notebook",
    "library",
    "Last Monday",
    "Dakota",
    "Reyes",
    "switchblade",
    "gym bag",
    "bleachers",
    "tenth grade",
    "first period",
    "Emerson",
    "Vance",
    "Older kids",
    "bus loop",
    "dismissal",
    "seen the switchblade",
    # the referral forms above and the seeded referral
    "Harbor Clinic",
    "Knife in locker",
    "Riverside",
    "Okoro",
    "anger management",
    # the intake and triage forms above
    "Parker",
    "Ellis",
    "science",
    "Harlow",
    "portable classrooms",
    "red duffel",
    "ABCD-EFGH-JKLM",
    "ABCDEFGHJKLM",
    "Lindqvist",
    "hunting trip",
    "Which bus",
    # the meetings
    "daily check-ins",
    "Bus duty",
    "Visiting clinician",
    # the plan's forms above
    "talked about home",
    "came to the check-in",
    "Calm; came on time",
    "plan reviewed",
    "moved away",
    "Nothing left",
)

# URL arguments, in the order of the route's URL, name seeded records (see ``seed_world``):
#   cases: north | north_quiet | south | no_such_case
#   people: subject (Jordan Rivera, on north) | south_subject (on south) | no_such_person
#   files, all on north: education_file | counseling_file | law_enforcement_file
#   assignment: counselor_ana's work on north
#   grant: the emergency grant counselor_ana took on south, already ended;
#   grant_entry: its audit entry (the auditors' review queue)
#   north_team, teacher_cam (a user id), enable, stylesheet (a static file)
#   meetings (see ``seed_meetings``): north_meeting (the north team's, its agenda built, the
#     north case's item shared with counselor_ana, its guest) | south_meeting | no_such_meeting;
#     items: north_item (the north case's), spare_item (a topic), south_item (on south_meeting);
#     attendance: gus_attendance, ana_attendance (neither acknowledged yet)
#   reports (see ``seed_reports``): nhs_report (imminent, with a subject) | sms_report |
#     nhs_tip | sms_tip | no_such_report; their files: nhs_report_file | sms_report_file;
#     the subjects they name, as typed: nhs_mention | sms_mention
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
GET  account.reauthenticate       -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
POST account.reauthenticate       -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
# ---- district administration: admin_fay only
GET  admin.index                  -                          -           ok  403 403 403 403 403 403 403 login
GET  admin.district               -                          -           ok  403 403 403 403 403 403 403 login
POST admin.district               -                          -           ok  403 403 403 403 403 403 403 login
GET  admin.non_school_days        -                          -           ok  403 403 403 403 403 403 403 login
POST admin.non_school_days        -                          -           ok  403 403 403 403 403 403 403 login
POST admin.non_school_days        -                          HOLIDAY     ok  403 403 403 403 403 403 403 login
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
POST cases.change_status          north                      -           403 ok  403 403 403 403 404 403 login
POST cases.change_status          south                      -           403 404 404 404 404 403 ok  403 login
POST assessment.add_fact          north                      -           403 ok  ok  ok  403 403 404 403 login
POST assessment.add_fact          north                      FACT        403 ok  ok  ok  403 403 404 403 login
POST assessment.add_fact          south                      FACT        403 404 404 404 404 403 ok  403 login
GET  assessment.correct_fact      north/fact                 -           403 ok  ok  ok  403 403 404 403 login
POST assessment.correct_fact      north/fact                 -           403 ok  ok  ok  403 403 404 403 login
GET  assessment.correct_fact      south/fact                 -           403 404 404 404 404 403 404 403 login
POST assessment.answer            north                      -           403 ok  ok  ok  403 403 404 403 login
POST assessment.answer            north                      ANSWER      403 ok  ok  ok  403 403 404 403 login
POST assessment.answer            south                      ANSWER      403 404 404 404 404 403 400 403 login
POST assessment.record_determination north                   -           403 ok  ok  ok  403 403 404 403 login
POST assessment.record_determination south                   -           403 404 404 404 404 403 ok  403 login
POST assessment.respond           north/determination        -           403 ok  ok  ok  403 403 404 403 login
POST assessment.respond           north/determination        CONFIRM     403 400 ok  ok  403 403 404 403 login
POST assessment.respond           south/determination        CONFIRM     403 404 404 404 404 403 404 403 login
POST assessment.record_notice     north                      -           403 ok  ok  ok  403 403 404 403 login
POST assessment.record_notice     north                      NOTICE      403 ok  ok  ok  403 403 404 403 login
POST assessment.record_notice     south                      NOTICE      403 404 404 404 404 403 ok  403 login
# Referrals and notifications: the team of the case (and its added members); the counselor
# sees the header only; the seeded referral is unknown through another case's URL.
POST referrals.draft              north                      -           403 ok  ok  ok  403 403 404 403 login
POST referrals.draft              north                      REFERRAL    403 ok  ok  ok  403 403 404 403 login
POST referrals.draft              south                      REFERRAL    403 404 404 404 404 403 ok  403 login
POST referrals.consent            north/referral             -           403 ok  ok  ok  403 403 404 403 login
POST referrals.move               north/referral             -           403 ok  ok  ok  403 403 404 403 login
POST referrals.move               north/referral             SEND        403 ok  ok  ok  403 403 404 403 login
POST referrals.move               south/referral             SEND        403 404 404 404 404 403 404 403 login
GET  referrals.letter             north/referral             -           403 ok  ok  ok  403 403 404 403 login
GET  referrals.letter             south/referral             -           403 404 404 404 404 403 404 403 login
POST referrals.notify             north                      -           403 ok  ok  ok  403 403 404 403 login
POST referrals.notify             north                      NOTIFICATION 403 ok  ok  ok  403 403 404 403 login
POST referrals.notify             south                      NOTIFICATION 403 404 404 404 404 403 ok  403 login
POST referrals.history            north                      -           403 ok  ok  ok  403 403 404 403 login
POST referrals.history            north                      HISTORY     403 ok  ok  ok  403 403 404 403 login
# The plan: the team adds items (an owner out of the case's scope is refused by the form).
POST plans.add_item               north                      -           403 ok  ok  ok  403 403 404 403 login
POST plans.add_item               north                      ITEM        403 ok  ok  ok  403 403 404 403 login
POST plans.add_item               south                      ITEM        403 404 404 404 404 403 ok  403 login
# An item's page: its owner and the team; the same id through another case is unknown.
GET  plans.item                   north/assignment           -           403 ok  ok  ok  ok  403 404 403 login
GET  plans.item                   south/assignment           -           403 404 404 404 404 403 404 403 login
POST plans.item_status            north/assignment           -           403 ok  ok  ok  ok  403 404 403 login
POST plans.item_status            north/assignment           STATUS      403 ok  ok  ok  ok  403 404 403 login
POST plans.item_status            south/assignment           STATUS      403 404 404 404 404 403 404 403 login
POST plans.item_progress          north/assignment           PROGRESS    403 ok  ok  ok  ok  403 404 403 login
POST plans.item_progress          south/assignment           PROGRESS    403 404 404 404 404 403 404 403 login
# Only the item's owner logs its sessions; the team is told the item is not its to log.
POST plans.add_log                north/assignment           -           403 ok  ok  ok  ok  403 404 403 login
POST plans.add_log                north/assignment           LOG         403 404 404 404 ok  403 404 403 login
POST plans.add_log                south/assignment           LOG         403 404 404 404 404 403 404 403 login
POST plans.add_review             north                      CASE_REVIEW 403 ok  ok  ok  403 403 404 403 login
POST plans.add_review             south                      CASE_REVIEW 403 404 404 404 404 403 ok  403 login
POST plans.support_plan           north                      SUPPORT     403 ok  ok  ok  403 403 404 403 login
POST plans.support_plan           south                      SUPPORT     403 404 404 404 404 403 ok  403 login
# Closing: the lead only; north's open item is named and the case stays open.
POST plans.close                  north                      CLOSING     403 ok  403 403 403 403 404 403 login
POST plans.close                  south                      CLOSING     403 404 404 404 404 403 ok  403 login
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
# Merging two records of one person: a team lead, or a member whose scope is the whole district
# (none here), who sees both; a record the persona may not see is unknown (404).
POST people.merge                 subject                    -           403 ok  403 403 403 403 404 403 login
POST people.merge                 subject                    MERGE_SOUTH 403 404 403 403 403 403 404 403 login
# ---- intake: every signed-in role reports a concern (for any school) and sees its own reports
GET  intake.new                   -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
POST intake.new                   -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
POST intake.new                   -                          REPORT      ok  ok  ok  ok  ok  ok  ok  ok  login
GET  intake.mine                  -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
GET  intake.index                 -                          -           ok  ok  ok  ok  ok  ok  ok  ok  login
# ---- the anonymous tip line: open to anyone, signed in or not, with no CSRF token; a wrong
# follow-up code is the form again (400)
GET  tips.tip                     -                          -           ok  ok  ok  ok  ok  ok  ok  ok  ok
POST tips.tip                     -                          -           ok  ok  ok  ok  ok  ok  ok  ok  ok
POST tips.tip                     -                          TIP         ok  ok  ok  ok  ok  ok  ok  ok  ok
GET  tips.follow_up               -                          -           ok  ok  ok  ok  ok  ok  ok  ok  ok
POST tips.follow_up               -                          -           ok  ok  ok  ok  ok  ok  ok  ok  ok
POST tips.follow_up               -                          TIP_CODE    ok  ok  ok  ok  ok  ok  ok  ok  ok
POST tips.follow_up               -                          TIP_REPLY   ok  ok  ok  ok  ok  ok  ok  ok  ok
POST tips.follow_up               -                          WRONG_CODE  400 400 400 400 400 400 400 400 400
# ---- triage: the teams (route permission), each for the reports of the schools it covers:
# the north team North High's, outsider_dee South Middle's; anything else is unknown (404).
GET  triage.queue                 -                          -           403 ok  ok  ok  403 403 ok  403 login
GET  triage.report                nhs_report                 -           403 ok  ok  ok  403 403 404 403 login
GET  triage.report                nhs_tip                    -           403 ok  ok  ok  403 403 404 403 login
GET  triage.report                sms_report                 -           403 404 404 404 403 403 ok  403 login
GET  triage.report                sms_tip                    -           403 404 404 404 403 403 ok  403 login
GET  triage.report                no_such_report             -           403 404 404 404 403 403 404 403 login
GET  triage.file                  nhs_report/nhs_report_file -           403 ok  ok  ok  403 403 404 403 login
GET  triage.file                  sms_report/sms_report_file -           403 404 404 404 403 403 ok  403 login
# A file through another report's URL: unknown, even to the team that sees both reports.
GET  triage.file                  nhs_report/sms_report_file -           403 404 404 404 403 403 404 403 login
GET  triage.file                  sms_report/nhs_report_file -           403 404 404 404 403 403 404 403 login
POST triage.acknowledge           nhs_report                 -           403 ok  ok  ok  403 403 404 403 login
POST triage.acknowledge           sms_report                 -           403 404 404 404 403 403 ok  403 login
POST triage.record_action         nhs_report                 -           403 ok  ok  ok  403 403 404 403 login
POST triage.record_action         nhs_report                 ACTION      403 ok  ok  ok  403 403 404 403 login
POST triage.record_action         sms_report                 ACTION      403 404 404 404 403 403 ok  403 login
# Replies go to tipsters: a staff report has none to answer (404).
POST triage.message               nhs_tip                    -           403 ok  ok  ok  403 403 404 403 login
POST triage.message               nhs_tip                    REPLY       403 ok  ok  ok  403 403 404 403 login
POST triage.message               sms_tip                    REPLY       403 404 404 404 403 403 ok  403 login
POST triage.message               nhs_report                 REPLY       403 404 404 404 403 403 404 403 login
# The people a report names, as typed: linked by the team that triages it, to a person it may
# see or a new one; another report's mention, or a person of another school's, is unknown.
POST triage.link_person           nhs_report/nhs_mention     -           403 ok  ok  ok  403 403 404 403 login
POST triage.link_person           nhs_report/nhs_mention     LINK_SOUTH  403 404 404 404 403 403 404 403 login
POST triage.link_person           nhs_report/sms_mention     LINK_NEW    403 404 404 404 403 403 404 403 login
POST triage.link_person           sms_report/sms_mention     LINK_NEW    403 404 404 404 403 403 ok  403 login
POST triage.link_person           nhs_report/nhs_mention     LINK_NEW    403 ok  ok  ok  403 403 404 403 login
# Deciding: a report goes only into a case of the persona's own team (400, the form again),
# and a case is opened for it only by a team of the persona's (403); then the real outcome.
POST triage.decide                nhs_report                 -           403 ok  ok  ok  403 403 404 403 login
POST triage.decide                nhs_report                 TO_SOUTH    403 400 400 400 403 403 404 403 login
POST triage.decide                nhs_report                 OPEN_SOUTH  403 403 403 403 403 403 404 403 login
POST triage.decide                sms_report                 TO_NORTH    403 404 404 404 403 403 400 403 login
POST triage.decide                sms_report                 OPEN_NORTH  403 404 404 404 403 403 403 403 login
POST triage.decide                nhs_report                 NO_THREAT   403 ok  ok  ok  403 403 404 403 login
POST triage.decide                sms_report                 NO_THREAT   403 404 404 404 403 403 ok  403 login
# ---- meetings: the team (route permission), each for its own team's meetings; counselor_ana
# is a guest of the north meeting and sees what its lead shares; the lead alone shapes the
# agenda, records attendance and decides; the team records minutes. The policy decides before
# a form is read.
GET  meetings.index               -                          -           403 ok  ok  ok  ok  403 ok  403 login
POST meetings.schedule_meeting    -                          -           403 ok  ok  ok  403 403 ok  403 login
GET  meetings.show                north_meeting              -           403 ok  ok  ok  ok  403 404 403 login
GET  meetings.show                south_meeting              -           403 404 404 404 404 403 ok  403 login
GET  meetings.show                no_such_meeting            -           403 404 404 404 404 403 404 403 login
GET  meetings.print_agenda        north_meeting              -           403 ok  ok  ok  ok  403 404 403 login
GET  meetings.print_agenda        south_meeting              -           403 404 404 404 404 403 ok  403 login
GET  meetings.item                north_meeting/north_item   -           403 ok  ok  ok  403 403 404 403 login
GET  meetings.item                south_meeting/south_item   -           403 404 404 404 403 403 ok  403 login
GET  meetings.item                south_meeting/north_item   -           403 404 404 404 403 403 404 403 login
POST meetings.build_agenda        north_meeting              -           403 ok  403 403 403 403 404 403 login
POST meetings.build_agenda        south_meeting              -           403 404 404 404 403 403 ok  403 login
POST meetings.add_case            north_meeting              -           403 ok  403 403 403 403 404 403 login
POST meetings.add_case            north_meeting              NORTH_CASE  403 ok  403 403 403 403 404 403 login
POST meetings.add_case            north_meeting              SOUTH_CASE  403 404 403 403 403 403 404 403 login
POST meetings.add_case            south_meeting              NORTH_CASE  403 404 404 404 403 403 404 403 login
POST meetings.add_topic           north_meeting              -           403 ok  403 403 403 403 404 403 login
POST meetings.add_topic           south_meeting              TOPIC       403 404 404 404 403 403 ok  403 login
POST meetings.move_item           north_meeting/north_item   -           403 ok  403 403 403 403 404 403 login
POST meetings.move_item           south_meeting/north_item   -           403 404 404 404 403 403 404 403 login
POST meetings.share_item          north_meeting/north_item   -           403 ok  403 403 403 403 404 403 login
POST meetings.share_item          south_meeting/north_item   -           403 404 404 404 403 403 404 403 login
POST meetings.add_attendee        north_meeting              -           403 ok  403 403 403 403 404 403 login
POST meetings.add_guest           north_meeting              -           403 ok  403 403 403 403 404 403 login
POST meetings.acknowledge         north_meeting/gus_attendance -         403 ok  ok  403 403 403 404 403 login
POST meetings.acknowledge         north_meeting/ana_attendance -         403 ok  403 403 ok  403 404 403 login
POST meetings.record_minutes      north_meeting/north_item   -           403 ok  ok  ok  403 403 404 403 login
POST meetings.record_minutes      north_meeting/north_item   MINUTES     403 ok  ok  ok  403 403 404 403 login
POST meetings.record_minutes      south_meeting/north_item   MINUTES     403 404 404 404 403 403 404 403 login
POST meetings.record_determination north_meeting/north_item  -           403 ok  403 403 403 403 404 403 login
POST meetings.close_case          north_meeting/north_item   -           403 ok  403 403 403 403 404 403 login
POST meetings.add_plan_item       north_meeting/north_item   -           403 ok  403 403 403 403 404 403 login
POST meetings.add_plan_item       north_meeting/north_item   ITEM        403 ok  403 403 403 403 404 403 login
POST meetings.add_plan_item       south_meeting/north_item   ITEM        403 404 404 404 403 403 404 403 login
POST meetings.refer               north_meeting/north_item   -           403 ok  403 403 403 403 404 403 login
POST meetings.refer               north_meeting/north_item   REFERRAL    403 ok  403 403 403 403 404 403 login
POST meetings.refer               south_meeting/north_item   REFERRAL    403 404 404 404 403 403 404 403 login
POST meetings.review              north_meeting/north_item   CASE_REVIEW 403 ok  403 403 403 403 404 403 login
POST meetings.review              south_meeting/north_item   CASE_REVIEW 403 404 404 404 403 403 404 403 login
POST meetings.remove_item         north_meeting/spare_item   -           403 ok  403 403 403 403 404 403 login
POST meetings.remove_item         south_meeting/spare_item   -           403 404 404 404 403 403 404 403 login
# A case's minutes, printed for its file: whoever may read the case (counselor_ana reads
# only the header of north).
GET  meetings.case_minutes        north                      -           403 ok  ok  ok  403 403 404 403 login
GET  meetings.case_minutes        south                      -           403 404 404 404 404 403 ok  403 login
GET  meetings.case_minutes        no_such_case               -           403 404 404 404 404 403 404 403 login
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
    """``seed_cases``, an emergency grant counselor_ana took on the south case and ended, and
    ``seed_reports``."""
    seeded = seed_cases(app, world)
    grant_emergency(app, world, "counselor_ana", seeded.south)
    with acting_as(app, world, "counselor_ana") as ctx:
        grant_id = ctx.db.execute(select(EmergencyGrant.id)).scalar_one()
        carry_out(ctx, emergency.end_grant(ctx, seeded.south, grant_id))
    with acting_as(app, world, "outsider_dee") as ctx:
        south_subject = page.view_case(ctx, seeded.south).parties[0].person_id
    grant_entry = audit_entries(app, str(AuditAction.ACCESS_EMERGENCY_GRANTED))[0].seq
    reports = seed_reports(app, world)
    files = seeded.attachment_ids
    # The north team's assessment: a fact, and a determination waiting for gus and hal.
    with acting_as(app, world, "lead_ben") as ctx:
        fact = carry_out(
            ctx,
            facts.add_fact(
                ctx,
                seeded.north,
                facts.FactData(
                    source=FactSource.OBSERVATION,
                    learned_on=ctx.now.date(),
                    statement="Jordan Rivera drew a knife on his binder.",
                ),
            ),
        )
        determination = carry_out(
            ctx,
            determinations.record_determination(
                ctx,
                seeded.north,
                determinations.DeterminationData(
                    classification="substantive_serious",
                    level="moderate",
                    rationale="Jordan Rivera drew a knife and named a classmate.",
                    facts=[fact],
                    participants=[
                        world.people["member_gus"].user_id,
                        world.people["officer_hal"].user_id,
                    ],
                ),
            ),
        )
        today = calendar.today(ctx).isoformat()
    meetings = seed_meetings(app, world, seeded)
    # A referral of the north case's subject, drafted with the parent's consent.
    with acting_as(app, world, "lead_ben") as ctx:
        referral = carry_out(
            ctx,
            referrals.draft_referral(
                ctx,
                seeded.north,
                referrals.ReferralData(
                    person_id=None,
                    destination=Destination.COMMUNITY_MENTAL_HEALTH,
                    agency="Riverside Family Clinic",
                    contact="Dr. Okoro",
                    reason="Weekly anger management sessions.",
                    consent=referrals.ConsentData(
                        Consent.OBTAINED,
                        records="The threat assessment summary",
                        purpose="Counseling intake",
                        recipient="Riverside Family Clinic",
                        given_on=ctx.now.date(),
                    ),
                    follow_up_on=ctx.now.date() + timedelta(days=7),
                ),
            ),
        )
    values = {name: str(person.user_id) for name, person in world.people.items()}
    values |= meetings
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
        "today": today,
        "fact": str(fact),
        "determination": str(determination),
        "referral": str(referral),
        "grant": str(grant_id),
        "grant_entry": str(grant_entry),
        "north_team": str(world.team_ids["north"]),
        "south_team": str(world.team_ids["south"]),
        "nhs_school": str(world.school_ids["NHS"]),
        "sms_school": str(world.school_ids["SMS"]),
        "nhs_report": str(reports.nhs_report),
        "nhs_report_file": str(reports.nhs_file),
        "nhs_mention": str(reports.nhs_mention),
        "sms_mention": str(reports.sms_mention),
        "sms_report": str(reports.sms_report),
        "sms_report_file": str(reports.sms_file),
        "nhs_tip": str(reports.nhs_tip),
        "sms_tip": str(reports.sms_tip),
        "no_such_report": "999999",
        "tip_code": reports.tip_code,
        "enable": "enable",
        "stylesheet": "css/btam.css",
    }
    return Refs(values)


def seed_meetings(app: Flask, world: World, seeded: Seeded) -> dict[str, str]:
    """A meeting of each team, its agenda built; on the north one lead_ben and member_gus
    are present, counselor_ana is a guest shown the north case's item, and a topic waits
    (the quiet case's item is the one a meeting may close: nothing of it is open)."""
    north = schedule_meeting(app, world, attendees=("lead_ben", "member_gus"))
    south = schedule_meeting(app, world, by="outsider_dee", team="south")
    with acting_as(app, world, "lead_ben") as ctx:
        ana = carry_out(
            ctx, attendance.add_guest(ctx, north, user_id=world.people["counselor_ana"].user_id)
        )
        spare = carry_out(ctx, agenda.add_topic(ctx, north, "Bus duty rota"))
        north_case = load_case(ctx, seeded.north).case.id
        north_item = next(
            i.id
            for i in meetings_repo.items(ctx.db, north)
            if i.case_id == north_case and i.kind is ItemKind.ASSESSMENT
        )
        quiet_case = load_case(ctx, seeded.north_quiet).case.id
        quiet_item = next(
            i.id
            for i in meetings_repo.items(ctx.db, north)
            if i.case_id == quiet_case and i.kind is ItemKind.ASSESSMENT
        )
        carry_out(ctx, agenda.share_item(ctx, north, north_item, shared=True))
        gus = next(
            a.id
            for a in meetings_repo.attendees(ctx.db, north)
            if a.user_id == world.people["member_gus"].user_id
        )
    with acting_as(app, world, "outsider_dee") as ctx:
        south_item = meetings_repo.items(ctx.db, south)[0].id
    return {
        "north_meeting": str(north),
        "south_meeting": str(south),
        "no_such_meeting": "999999",
        "north_item": str(north_item),
        "spare_item": str(spare),
        "quiet_item": str(quiet_item),  # the north quiet case's: nothing open, it may close
        "south_item": str(south_item),
        "gus_attendance": str(gus),
        "ana_attendance": str(ana),
    }


def open_browser(app: Flask, world: World, persona: str) -> tuple[Browser, str]:
    """A browser signed in as ``persona`` (or a visitor's), and its session's CSRF token."""
    if persona == ANONYMOUS:
        browser = Browser(app.test_client())
        return browser, csrf_token(browser.get("/login").get_data(as_text=True))
    browser = signed_in(app, world, persona)
    return browser, csrf_token(browser.get("/account/").get_data(as_text=True))


def send(browser: Browser, token: str, method: str, url: str, data: dict[str, str]) -> TestResponse:
    """GET ``url``, or POST ``data`` to it with the CSRF token (none when ``token`` is empty)."""
    if method == "GET":
        return browser.get(url)
    return browser.client.post(url, data={"csrf_token": token, **data} if token else data)


def outcome(method: str, response: TestResponse) -> str:
    status = response.status_code
    if status in {403, 404}:
        return str(status)
    if status == 302:
        return "login" if urlsplit(response.headers["Location"]).path == "/login" else "ok"
    if status == 400 and method == "POST":
        return "400"
    if status == 200:
        return "ok"
    return f"HTTP {status}"


def agrees(got: str, expected: str) -> bool:
    """``ok`` takes a POST's 400 (the form again) too; ``400`` takes nothing else."""
    return got == expected or (expected == "ok" and got == "400")


def run_matrix(app: Flask, world: World, persona: str, refs: Refs | None = None) -> list[str]:
    """Send every row of the table as ``persona`` (in a world seeded now, unless ``refs`` are
    given); return the disagreements, one a line."""
    refs = refs or seed_world(app, world)
    browser, token = open_browser(app, world, persona)
    wrong = []
    for probe in sorted(MATRIX, key=lambda p: p.endpoint in SESSION_ENDING):
        url = refs.url(app, probe)
        sent_token = "" if probe.endpoint in TOKENLESS else token
        response = send(browser, sent_token, probe.method, url, refs.form(probe.form))
        got = outcome(probe.method, response)
        if response.mimetype == "text/html":
            wrong.extend(
                f"{persona}: {probe.method} {url}: {problem}"
                for problem in markup_problems(response.get_data(as_text=True))
            )
        if not agrees(got, probe.expect[persona]):
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
    rendered: list[str] = []

    def check_context(_sender: Flask, template: Template, context: dict[str, object]) -> None:
        # Templates get plain view objects: an ORM row would decrypt (or lazy-load) on demand.
        rendered.extend(
            f"{template.name}: {name}" for name, value in context.items() if holds_a_row(value)
        )

    with template_rendered.connected_to(check_context, app):
        wrong = run_matrix(app, world, persona)
    assert not wrong, f"{len(wrong)} outcome(s) or page(s) wrong:\n" + "\n".join(wrong)
    assert rendered == [], "ORM rows handed to templates: " + ", ".join(sorted(set(rendered)))


def holds_a_row(value: object, depth: int = 0) -> bool:
    """Whether ``value`` is, or holds within a few levels, a row of either store."""
    if isinstance(value, CaseBase | AuditBase):
        return True
    if depth > 3 or isinstance(value, str | bytes | int | float | bool | type(None)):
        return False
    if isinstance(value, dict):
        return any(holds_a_row(v, depth + 1) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(holds_a_row(v, depth + 1) for v in value)
    if is_dataclass(value):
        return any(holds_a_row(getattr(value, f.name), depth + 1) for f in fields(value))
    return False


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
        "/cases/{south}/plan/{assignment}/status",
        "STATUS",
        "plan_item",
        "assignment",
    ),
    ("lead_ben", "POST", "/cases/{north}/plan/{assignment}/log", "LOG", "plan_item", "assignment"),
    ("outsider_dee", "POST", "/cases/{north}/notes", "NOTE", "case", "north"),
    # Reports and tips: the id of another school's report, or of no report, in a triage URL.
    ("lead_ben", "GET", "/triage/{sms_report}", "-", "report", "sms_report"),
    ("lead_ben", "POST", "/triage/{sms_report}/acknowledge", "-", "report", "sms_report"),
    ("lead_ben", "POST", "/triage/{sms_report}/actions", "ACTION", "report", "sms_report"),
    ("lead_ben", "POST", "/triage/{sms_report}/decide", "NO_THREAT", "report", "sms_report"),
    ("lead_ben", "POST", "/triage/{sms_report}/decide", "TO_NORTH", "report", "sms_report"),
    (
        "lead_ben",
        "GET",
        "/triage/{sms_report}/files/{sms_report_file}",
        "-",
        "report",
        "sms_report",
    ),
    # A report lead_ben triages, with the file of another report.
    (
        "lead_ben",
        "GET",
        "/triage/{nhs_report}/files/{sms_report_file}",
        "-",
        "report_attachment",
        "sms_report_file",
    ),
    ("member_gus", "GET", "/triage/{no_such_report}", "-", "report", "no_such_report"),
    ("officer_hal", "POST", "/triage/{sms_tip}/messages", "REPLY", "report", "sms_tip"),
    # A report the north team triages, but no tip: there is no tipster to answer.
    ("officer_hal", "POST", "/triage/{nhs_report}/messages", "REPLY", "report", "nhs_report"),
    ("outsider_dee", "GET", "/triage/{nhs_tip}", "-", "report", "nhs_tip"),
    ("outsider_dee", "POST", "/triage/{nhs_report}/decide", "TO_SOUTH", "report", "nhs_report"),
    (
        "outsider_dee",
        "GET",
        "/triage/{sms_report}/files/{nhs_report_file}",
        "-",
        "report_attachment",
        "nhs_report_file",
    ),
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
    """Seeding, then every row of the table as ``persona``: no name, narrative, file name or
    tip text, and no part of a tip's follow-up code, reaches any column of any audit entry."""
    refs = seed_world(app, world)
    run_matrix(app, world, persona, refs)
    code = refs.values["tip_code"]
    raw = code.replace("-", "")
    content = (*CASE_CONTENT, code, raw[:LOOKUP_CHARS], raw[LOOKUP_CHARS:])
    rows = _audit_rows(app)
    if persona != ANONYMOUS:
        assert any(e.actor_id == world.people[persona].user_id for e in rows), "not audited"
    columns = [c.key for c in AuditEntry.__table__.columns]
    found = [
        f"seq {entry.seq} {entry.action} {column}: {word!r}"
        for entry in rows
        for column in columns
        for word in content
        if word.casefold() in str(getattr(entry, column) or "").casefold()
    ]
    assert not found, "case content in the audit trail:\n" + "\n".join(found)
