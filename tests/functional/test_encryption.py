"""Field encryption as an operator and an attacker see it: stores, dumps, keys and rotation.

Every test runs on SQLite and again on PostgreSQL (skipped without a server, a failure
under CI=true). Today's encrypted fields are the users' MFA secrets; the markers below are
stored in each of them through the real services.
"""

from __future__ import annotations

import base64
import glob
import logging
import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from btam import ConfigError, create_app
from btam.access.record_classes import RecordClass
from btam.accounts import signin
from btam.accounts.models import District, User
from btam.assessment.services import answers, determinations, facts, notices
from btam.assessment.services.determinations import DeterminationData
from btam.assessment.services.facts import FactData
from btam.assessment.terms import FactSource, Method, NoticeKind
from btam.cases.models import Assignment, Case
from btam.cases.services import emergency, guard, opening, page, records
from btam.cli import keys as keys_cli
from btam.cli.keys import keys
from btam.context import ServiceContext, carry_out
from btam.db import make_engine
from btam.files import Upload
from btam.intake.models import (
    Report,
    ReportAction,
    ReportAttachment,
    ReportMention,
    TipMessage,
)
from btam.intake.services import reports, tips, triage
from btam.intake.services.reports import PersonEntry, ReportData
from btam.intake.services.tips import TipData
from btam.intake.terms import Channel, ImmediateAction, NoThreatAction, TipCategory, TriageOutcome
from btam.meetings.services import agenda, attendance, minutes, schedule
from btam.meetings.terms import MeetingKind
from btam.people.models import Person
from btam.people.services import disclosures
from btam.people.services.matching import PersonData
from btam.people.terms import DisclosureBasis, Part, PersonKind
from btam.plans.referral_terms import Audience, Consent, Destination, History, ReferralMove
from btam.plans.services import closure, items, log, notifications, referrals
from btam.plans.terms import Aim, Intervention, ItemStatus, LogKind, SupportPlan
from btam.security.crypto import DecryptionFailed, generate_key_file
from btam.security.fields import encrypted_fields
from btam.security.key_rotation import (
    KeyFileLock,
    add_kek_version,
    data_keys,
    retire_unused_keys,
    rewrap_data_keys,
    start_data_key_rotation,
)
from btam.security.keys import DataKey, KekSource, KeyDestroyed, destroy_scope, session_info
from btam.security.reencryption import ReencryptResult, field_usage, reencrypt_fields
from tests.conftest import prepare_instance
from tests.support.cases import acting_as, student
from tests.support.outage import closed_port
from tests.support.personas import World, build_world, system_ctx
from tests.support.postgres import fresh_database
from tests.support.stores import audit_entries
from tests.support.web import Browser

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@dataclass
class Instance:
    """Two migrated stores, a key file and the settings overrides that name them."""

    kind: str
    tmp: Path
    overrides: dict[str, object]

    @property
    def key_file(self) -> Path:
        return Path(str(self.overrides["instance"])) / "kek.key"

    @property
    def case_url(self) -> str:
        return str(self.overrides["database_url"])

    def env(self) -> dict[str, str]:
        """The environment a ``btam`` command of this instance runs with."""
        return {
            "BTAM_CONFIG": "testing",
            "BTAM_INSTANCE": str(self.overrides["instance"]),
            "BTAM_DATABASE_URL": self.case_url,
            "BTAM_AUDIT_DATABASE_URL": str(self.overrides["audit_database_url"]),
            "BTAM_SECRET_KEY": str(self.overrides["secret_key"]),
        }

    def rotation_sessions(self) -> tuple[Engine, sessionmaker[Session]]:
        """Sessions as ``btam keys rotate`` opens them (a fresh KEK load, BEGIN IMMEDIATE)."""
        engine = make_engine(self.case_url, immediate=True)
        source = KekSource.load(self.key_file)
        return engine, sessionmaker(engine, expire_on_commit=False, info=session_info(source))


@pytest.fixture(params=BACKENDS)
def instance(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Instance]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            urls = (f"sqlite:///{tmp_path}/btam.sqlite3", f"sqlite:///{tmp_path}/audit.sqlite3")
        else:
            urls = (
                stack.enter_context(fresh_database("btam_enc_case")),
                stack.enter_context(fresh_database("btam_enc_audit")),
            )
        yield Instance(request.param, tmp_path, prepare_instance(tmp_path, *urls))


@pytest.fixture
def enc_app(instance: Instance) -> Iterator[Flask]:
    application = create_app(instance.overrides)
    yield application
    application.extensions["btam"].stores.dispose()


@pytest.fixture
def people(enc_app: Flask) -> World:
    return build_world(enc_app)


@pytest.fixture
def cli_env(instance: Instance, monkeypatch: pytest.MonkeyPatch) -> Instance:
    for name, value in instance.env().items():
        monkeypatch.setenv(name, value)
    return instance


def run_keys(*args: str) -> Result:
    return CliRunner().invoke(keys, list(args))


def marker(label: str) -> str:
    """A unique string, valid base32 so the TOTP code paths accept it as a secret."""
    return f"MARKER{label}" + base64.b32encode(os.urandom(10)).decode("ascii")


def secrets_in_store(app: Flask) -> dict[int, tuple[str | None, str | None]]:
    with app.extensions["btam"].stores.case_sessions() as db:
        return {
            u.id: (u.mfa_secret, u.mfa_pending_secret)
            for u in db.execute(select(User).order_by(User.id)).scalars()
        }


def store_bytes(instance: Instance) -> bytes:
    """Everything an attacker copying the stores would get: the files, or a dump of each."""
    if instance.kind == "sqlite":
        files = sorted(instance.tmp.glob("*.sqlite3*"))  # the databases, -wal and -shm
        assert any(f.name == "btam.sqlite3-wal" for f in files)
        return b"".join(f.read_bytes() for f in files)
    return b"".join(
        pg_dump(str(instance.overrides[name])) for name in ("database_url", "audit_database_url")
    )


def pg_dump(url: str) -> bytes:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump")) or [shutil.which("pg_dump")]
    binary = found[-1]
    if not binary:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but pg_dump is not installed")
        pytest.skip("pg_dump is not installed")
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(  # noqa: S603  (a fixed binary and our own test database URL)
        [binary, "--no-owner", "--dbname", plain], check=True, capture_output=True, timeout=120
    ).stdout


# --------------------------------------------------------------------------- at rest


def test_markers_in_every_encrypted_field_are_in_no_store_dump_or_log(
    instance: Instance,
    enc_app: Flask,
    people: World,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SQL statements and their parameters too, as an operator debugging with echo would see.
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    active, pending = marker("ACTIVE"), marker("PENDING")
    ctx = system_ctx(enc_app)
    try:
        ben = ctx.db.get(User, people.lead_ben.user_id)
        assert ben is not None
        ben.mfa_secret = active
        ctx.db.commit()
        monkeypatch.setattr(signin.mfa, "new_totp_secret", lambda: pending)
        setup = signin.pending_enrolment(ctx, user_id=people.teacher_cam.user_id)
        assert setup.secret == pending
    finally:
        ctx.db.close()
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

    stored = secrets_in_store(enc_app)
    assert stored[people.lead_ben.user_id][0] == active
    assert stored[people.teacher_cam.user_id][1] == pending
    enrolled = [p.totp_secret for p in people.people.values() if p.totp_secret]
    assert len(enrolled) == 7
    copied = store_bytes(instance)
    assert b"lead_ben" in copied  # the copy holds the records: the search below means something
    for secret in [active, pending, *enrolled]:
        assert secret.encode() not in copied, secret
        assert secret.encode().hex().encode() not in copied  # bytea in a dump is hex
        assert secret not in caplog.text


def _refer_and_notify(ctx: ServiceContext, number: str, m: dict[str, str]) -> None:
    """A referral served on consent, one closed without service on a legal basis, a subject's
    documented history and the staff told of it in writing: each free-text field marked."""
    subject = next(
        p.person_id for p in page.view_case(ctx, number).parties if p.part is Part.SUBJECT
    )
    soon = ctx.now.date() + timedelta(days=7)

    def refer(consent: referrals.ConsentData) -> int:
        data = referrals.ReferralData(
            person_id=None,
            destination=Destination.COMMUNITY_MENTAL_HEALTH,
            agency=m["refagency"],
            contact=m["refcontact"],
            reason=m["refreason"],
            consent=consent,
            follow_up_on=soon,
        )
        return carry_out(ctx, referrals.draft_referral(ctx, number, data))

    served = refer(
        referrals.ConsentData(
            Consent.OBTAINED,
            records=m["crecords"],
            purpose=m["cpurpose"],
            recipient=m["crecipient"],
            given_on=ctx.now.date(),
        )
    )
    steps = (
        (ReferralMove.SEND, m["refnote"]),
        (ReferralMove.START_SERVICE, m["refoutcome"]),
        (ReferralMove.COMPLETE, ""),
    )
    for move, note in steps:
        follow = soon if move is ReferralMove.SEND else None
        carry_out(
            ctx,
            referrals.move_referral(ctx, number, served, move=move, note=note, follow_up_on=follow),
        )
    unserved = refer(
        referrals.ConsentData(
            Consent.NOT_NEEDED,
            legal_basis=DisclosureBasis.JUVENILE_JUSTICE,
            basis_statement=m["basis"],
        )
    )
    carry_out(
        ctx,
        referrals.move_referral(
            ctx, number, unserved, move=ReferralMove.CLOSE_WITHOUT_SERVICE, note=m["noservice"]
        ),
    )
    carry_out(
        ctx,
        notifications.record_history(
            ctx,
            number,
            person_id=subject,
            kind=History.VIOLENCE_AGAINST_STAFF,
            documented_in=m["documented"],
        ),
    )
    carry_out(
        ctx,
        notifications.record_notification(
            ctx,
            number,
            audience=Audience.STAFF,
            about_person_id=subject,
            recipient=m["notifrecipient"],
            notified_at=ctx.now,
            method=Method.LETTER,
            summary=m["notifsummary"],
        ),
    )


def test_markers_in_every_case_field_are_in_no_store_dump_or_log(
    instance: Instance,
    enc_app: Flask,
    people: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    m = {
        name: marker(name.upper())
        for name in (
            "given",
            "family",
            "number",
            "summary",
            "parent",
            "note",
            "shared",
            "file",
            "task",
            "threat",
            "parties",
            "occurred",
            "where",
            "narrative",
            "reportfile",
            "takenby",
            "tipwhat",
            "tipwho",
            "tipmsg",
            "reason",
            "recipient",
            "interest",
            "closing",
            "item",
            "progress",
            "lognotes",
            "logsummary",
            "itemreason",
            "finalreview",
            "fact",
            "corroboration",
            "counselfact",
            "factsummary",
            "answernote",
            "rationale",
            "objection",
            "notified",
            "noticenote",
            "mgiven",
            "mfamily",
            "mnumber",
            "topic",
            "guest",
            "agency",
            "minutes",
            "refagency",
            "refcontact",
            "refreason",
            "crecords",
            "cpurpose",
            "crecipient",
            "basis",
            "refnote",
            "refoutcome",
            "noservice",
            "notifrecipient",
            "notifsummary",
            "documented",
        )
    }
    content = marker("CONTENT").encode()
    try:
        with acting_as(enc_app, people, "lead_ben") as ctx:
            number = carry_out(
                ctx,
                opening.open_case(
                    ctx,
                    school_id=people.school_ids["NHS"],
                    team_id=people.team_ids["north"],
                    summary=m["summary"],
                    subject=student(
                        m["given"], m["family"], born=date(2010, 3, 14), number=m["number"]
                    ),
                ),
            ).number
            carry_out(
                ctx,
                records.add_party(
                    ctx,
                    number,
                    part=Part.PARENT,
                    person=PersonData(kind=PersonKind.OTHER, family_name=m["parent"]),
                ),
            )
            carry_out(
                ctx,
                records.add_attachment(
                    ctx,
                    number,
                    record_class=RecordClass.EDUCATION,
                    filename=m["file"],
                    content_type="text/plain",
                    data=content,
                ),
            )
            # A work assignment of before the plan (only migration 0012 reads them now).
            ctx.db.add(
                Assignment(
                    case_id=guard.load_case(ctx, number).case.id,
                    user_id=people.counselor_ana.user_id,
                    task=m["task"],
                )
            )
            ctx.db.commit()
            item_id = carry_out(
                ctx,
                items.add_item(
                    ctx,
                    number,
                    items.ItemData(
                        Intervention.OTHER,
                        m["item"],
                        Aim.SUBJECT,
                        owner_id=people.counselor_ana.user_id,
                        due_on=None,
                    ),
                ),
            )
            carry_out(ctx, items.add_progress(ctx, number, item_id, body=m["progress"]))
            carry_out(ctx, items.set_support_plan(ctx, number, plan=SupportPlan.IEP))
        with acting_as(enc_app, people, "counselor_ana") as ctx:
            carry_out(
                ctx,
                log.add_entry(
                    ctx,
                    number,
                    item_id,
                    log.LogData(
                        held_on=ctx.now.date(),
                        minutes=30,
                        kind=LogKind.INDIVIDUAL,
                        private_notes=m["lognotes"],
                        team_summary=m["logsummary"],
                    ),
                ),
            )
            carry_out(
                ctx,
                items.set_status(
                    ctx, number, item_id, status=ItemStatus.DISCONTINUED, reason=m["itemreason"]
                ),
            )
        with acting_as(enc_app, people, "member_gus") as ctx:
            carry_out(
                ctx,
                records.add_note(
                    ctx,
                    number,
                    record_class=RecordClass.COUNSELING,
                    body=m["note"],
                    team_summary=m["shared"],
                ),
            )
        with acting_as(enc_app, people, "outsider_dee") as ctx:
            carry_out(
                ctx,
                emergency.request_grant(
                    ctx, number=number, threat=m["threat"] + " now", parties=m["parties"]
                ),
            )
        with acting_as(enc_app, people, "lead_ben") as ctx:
            subject = page.view_case(ctx, number).parties[0].person_id
            carry_out(
                ctx,
                disclosures.record_disclosure(
                    ctx,
                    subject,
                    basis=DisclosureBasis.PARENT_CONSENT,
                    recipient=m["recipient"],
                    interest=m["interest"],
                    disclosed_at=ctx.now,
                ),
            )
            fact = carry_out(
                ctx,
                facts.add_fact(
                    ctx,
                    number,
                    FactData(
                        source=FactSource.OBSERVATION,
                        learned_on=date(2026, 3, 2),
                        statement=m["fact"],
                        corroborated=True,
                        corroboration=m["corroboration"],
                    ),
                ),
            )
            carry_out(
                ctx,
                answers.answer_question(
                    ctx,
                    number,
                    question_key="motives",
                    value="yes",
                    note=m["answernote"],
                    facts=[fact],
                ),
            )
            determination = carry_out(
                ctx,
                determinations.record_determination(
                    ctx,
                    number,
                    DeterminationData(
                        classification="substantive_serious",
                        level="high",
                        rationale=m["rationale"],
                        facts=[fact],
                        participants=[people.member_gus.user_id, people.officer_hal.user_id],
                    ),
                ),
            )
            carry_out(
                ctx,
                notices.record_notice(
                    ctx,
                    number,
                    kind=NoticeKind.PARENT,
                    recipient=m["notified"],
                    given_at=ctx.now,
                    method=Method.PHONE,
                    reached=True,
                    note=m["noticenote"],
                ),
            )
        with acting_as(enc_app, people, "member_gus") as ctx:
            carry_out(
                ctx,
                facts.add_fact(
                    ctx,
                    number,
                    FactData(
                        source=FactSource.RECORD_REVIEW,
                        learned_on=date(2026, 3, 2),
                        statement=m["counselfact"],
                        record_class=RecordClass.COUNSELING,
                        team_summary=m["factsummary"],
                    ),
                ),
            )
        with acting_as(enc_app, people, "officer_hal") as ctx:
            carry_out(
                ctx,
                determinations.respond(
                    ctx, number, determination, confirm=False, objection=m["objection"]
                ),
            )
        with acting_as(enc_app, people, "teacher_cam") as ctx:
            report = carry_out(
                ctx,
                reports.submit_report(
                    ctx,
                    ReportData(
                        school_id=people.school_ids["NHS"],
                        channel=Channel.STAFF,
                        occurred=m["occurred"],
                        location=m["where"],
                        narrative=m["narrative"],
                        people=[
                            PersonEntry(
                                Part.WITNESS,
                                student(
                                    m["mgiven"],
                                    m["mfamily"],
                                    born=date(2011, 5, 6),
                                    number=m["mnumber"],
                                ),
                            )
                        ],
                        attachment=Upload(m["reportfile"], "text/plain", content),
                        imminent=True,
                        actions=[(ImmediateAction.CALLED_911, m["takenby"], ctx.now)],
                    ),
                ),
            )
        tip_ctx = system_ctx(enc_app)
        try:
            code = carry_out(
                tip_ctx,
                tips.submit_tip(
                    tip_ctx,
                    TipData(
                        school_id=people.school_ids["NHS"],
                        category=TipCategory.WEAPON,
                        what=m["tipwhat"],
                        who=m["tipwho"],
                        where="",
                        when="",
                    ),
                    client=None,
                ),
            ).code
            carry_out(tip_ctx, tips.tipster_message(tip_ctx, code, m["tipmsg"], client=None))
        finally:
            tip_ctx.db.close()
        with acting_as(enc_app, people, "lead_ben") as ctx:
            carry_out(
                ctx,
                triage.decide(
                    ctx,
                    report.report_id,
                    triage.Decision(
                        outcome=TriageOutcome.NO_THREAT,
                        screening={},
                        reason=m["reason"],
                        no_threat_action=NoThreatAction.INFORMATION_ONLY,
                    ),
                ),
            )
            meeting = carry_out(
                ctx,
                schedule.schedule_meeting(
                    ctx,
                    team_id=people.team_ids["north"],
                    starts_at=ctx.now,
                    place="Room 1",
                    kind=MeetingKind.REGULAR,
                ),
            )
            item = carry_out(ctx, agenda.add_case(ctx, meeting, number))
            carry_out(ctx, agenda.add_topic(ctx, meeting, m["topic"]))
            carry_out(
                ctx,
                attendance.add_guest(ctx, meeting, name=m["guest"], affiliation=m["agency"]),
            )
            carry_out(ctx, minutes.record_minutes(ctx, meeting, item, m["minutes"]))
            _refer_and_notify(ctx, number, m)
            carry_out(
                ctx,
                closure.close_case(
                    ctx, number, rationale=m["closing"], final_review=m["finalreview"]
                ),
            )
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

    # Every encrypted case field holds a value here (the accounts' are the test above's): a
    # new field must join this test.
    with enc_app.extensions["btam"].stores.case_sessions() as db:
        for descriptor in encrypted_fields():
            if descriptor.owner is User:
                continue
            column = descriptor.table.c[descriptor.column]
            filled = db.execute(select(func.count()).where(column.is_not(None))).scalar_one()
            assert filled, f"no value stored in {descriptor!r}: give it a marker in this test"
    copied = store_bytes(instance)
    assert b"case_parties" in copied or b"CREATE TABLE" in copied
    for value in [*m.values(), content.decode(), code, code.replace("-", "")[8:]]:
        assert value.encode() not in copied, value
        assert value.encode().hex().encode() not in copied
        assert value not in caplog.text


def test_a_ciphertext_copied_to_another_row_or_column_fails_with_an_error_page(
    instance: Instance, enc_app: Flask, people: World, caplog: pytest.LogCaptureFixture
) -> None:
    ben, gus = people.lead_ben, people.member_gus
    engine = enc_app.extensions["btam"].stores.case_engine
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE users SET mfa_secret_enc = "
                "(SELECT mfa_secret_enc FROM users WHERE id = :src) WHERE id = :dst"
            ),
            {"src": ben.user_id, "dst": gus.user_id},
        )
        conn.execute(
            text("UPDATE users SET mfa_pending_secret_enc = mfa_secret_enc WHERE id = :src"),
            {"src": ben.user_id},
        )
    with enc_app.extensions["btam"].stores.case_sessions() as db:
        moved, source = db.get(User, gus.user_id), db.get(User, ben.user_id)
        assert moved is not None and source is not None
        with pytest.raises(DecryptionFailed):
            _ = moved.mfa_secret
        with pytest.raises(DecryptionFailed):
            _ = source.mfa_pending_secret
        assert source.mfa_secret == ben.totp_secret

    # Gus, whose secret was overwritten with Ben's, gets the generic error page, not a login.
    browser = Browser(enc_app.test_client())
    response = browser.sign_in(gus.username, gus.password, totp_secret=ben.totp_secret)
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    for internal in ("DecryptionFailed", "mfa_secret", "Traceback"):
        assert internal not in page
    assert f"failed authentication: users.mfa_secret_enc row {gus.user_id}" in caplog.text
    assert str(ben.totp_secret) not in caplog.text


def test_a_note_moved_into_another_case_stays_sealed_there(
    instance: Instance, enc_app: Flask, people: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Someone with write access to the store moves a North case note into the South case:
    its bytes still authenticate (same table, column and row), but its key is the North
    case's, so the South team gets an error page, never the note."""
    secret = "Counselor: he named the three students he wants to hurt"
    with acting_as(enc_app, people, "lead_ben") as ctx:
        north = carry_out(
            ctx,
            opening.open_case(
                ctx,
                school_id=people.school_ids["NHS"],
                team_id=people.team_ids["north"],
                summary="A threat in the hallway.",
                subject=student("Jordan", "Rivera", born=date(2010, 3, 14), number="S-1001"),
            ),
        )
        carry_out(
            ctx,
            records.add_note(ctx, north.number, record_class=RecordClass.EDUCATION, body=secret),
        )
    with acting_as(enc_app, people, "outsider_dee") as ctx:
        south = carry_out(
            ctx,
            opening.open_case(
                ctx,
                school_id=people.school_ids["SMS"],
                team_id=people.team_ids["south"],
                summary="A post on social media.",
                subject=student("Sam", "Lee", born=date(2012, 1, 20), number="S-2001"),
            ),
        )
    engine = enc_app.extensions["btam"].stores.case_engine
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE notes SET case_id = :south WHERE case_id = :north"),
            {"south": south.id, "north": north.id},
        )
    enc_app.config["PROPAGATE_EXCEPTIONS"] = False
    dee = Browser(enc_app.test_client())
    dee.sign_in(
        people.outsider_dee.username,
        people.outsider_dee.password,
        totp_secret=people.outsider_dee.totp_secret,
    )
    response = dee.get(f"/cases/{south.number}")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html and secret not in html
    assert "notes.body_enc row" in caplog.text and "a data key of another scope" in caplog.text
    assert secret not in caplog.text


def test_destroying_a_cases_key_leaves_nothing_of_its_reports_readable(
    instance: Instance, enc_app: Flask, people: World
) -> None:
    """A report triaged into a case has its key bound to the case's: crypto-shredding the case
    takes the narratives, places, files, immediate actions, people as typed, the tipster's
    conversation and the triage reasons of every report in it; other reports stay."""
    nhs = people.school_ids["NHS"]
    with acting_as(enc_app, people, "teacher_cam") as ctx:
        staff = carry_out(
            ctx,
            reports.submit_report(
                ctx,
                ReportData(
                    school_id=nhs,
                    channel=Channel.STAFF,
                    occurred="Monday",
                    location="the gym",
                    narrative="He said he would bring a gun to the game.",
                    people=[
                        PersonEntry(
                            Part.SUBJECT,
                            student("Jordan", "Rivera", born=date(2010, 3, 14), number="S-1001"),
                        )
                    ],
                    attachment=Upload("message.txt", "text/plain", b"see you at the game"),
                    imminent=True,
                    actions=[(ImmediateAction.CALLED_911, "Coach Park", ctx.now)],
                ),
            ),
        ).report_id
        kept = carry_out(
            ctx,
            reports.submit_report(
                ctx,
                ReportData(
                    school_id=nhs,
                    channel=Channel.STAFF,
                    occurred="",
                    location="",
                    narrative="A joke about a test, nothing more.",
                ),
            ),
        ).report_id
    tip_ctx = system_ctx(enc_app)
    try:
        receipt = carry_out(
            tip_ctx,
            tips.submit_tip(
                tip_ctx,
                TipData(
                    school_id=nhs,
                    category=TipCategory.WEAPON,
                    what="Jordan showed a gun in the parking lot.",
                    who="Jordan Rivera",
                    where="the parking lot",
                    when="Monday",
                    attachment=Upload("photo.txt", "text/plain", b"a blurry photo"),
                ),
                client=None,
            ),
        )
        carry_out(
            tip_ctx, tips.tipster_message(tip_ctx, receipt.code, "It was black.", client=None)
        )
    finally:
        tip_ctx.db.close()
    with acting_as(enc_app, people, "lead_ben") as ctx:
        carry_out(ctx, tips.team_message(ctx, receipt.report_id, "Did you see it loaded?"))
        number = carry_out(
            ctx,
            triage.decide(
                ctx,
                staff,
                triage.Decision(
                    outcome=TriageOutcome.OPENED_CASE,
                    screening={},
                    reason="A gun at a game.",
                    team_id=people.team_ids["north"],
                    summary="A gun at the game.",
                ),
            ),
        )
        assert number is not None
        carry_out(
            ctx,
            triage.decide(
                ctx,
                receipt.report_id,
                triage.Decision(
                    outcome=TriageOutcome.ADDED_TO_CASE, screening={}, case_number=number
                ),
            ),
        )
        carry_out(
            ctx,
            triage.decide(
                ctx,
                kept,
                triage.Decision(
                    outcome=TriageOutcome.NO_THREAT,
                    screening={},
                    reason="A joke.",
                    no_threat_action=NoThreatAction.INFORMATION_ONLY,
                ),
            ),
        )
        case_id = ctx.db.execute(select(Case.id).where(Case.number == number)).scalar_one()
        destroy_scope(ctx.db, f"case:{case_id}")
        ctx.db.commit()

    with enc_app.extensions["btam"].stores.case_sessions() as db:
        rows: list[tuple[object, str]] = []
        for report_id in (staff, receipt.report_id):
            report = db.get(Report, report_id)
            assert report is not None
            rows += [(report, n) for n in ("narrative", "occurred", "location", "who")]
            rows += [(report, "outcome_reason")] if report_id == staff else []
            for model, names in (
                (ReportAttachment, ("filename", "content_b64")),
                (ReportAction, ("taken_by",)),
                (TipMessage, ("body",)),
                (ReportMention, ("given_name", "family_name", "student_number")),
            ):
                for row in db.execute(
                    select(model).where(model.report_id == report_id)  # type: ignore[attr-defined]
                ).scalars():
                    rows += [(row, n) for n in names]
        stored = [(row, name) for row, name in rows if getattr(type(row), name + "_enc", None)]
        assert len({type(row).__name__ for row, _name in stored}) == 5
        readable = []
        for row, name in stored:
            if getattr(row, name + "_enc") is None:
                continue
            try:
                getattr(row, name)
            except KeyDestroyed:
                continue
            readable.append(f"{type(row).__name__}.{name}")
        assert readable == []
        other = db.get(Report, kept)
        assert other is not None and other.narrative == "A joke about a test, nothing more."
        # The people found at triage are not the case's: their records stay readable.
        assert {p.full_name for p in db.execute(select(Person)).scalars()} == {"Jordan Rivera"}


# --------------------------------------------------------------------------- keys from the shell


def test_keys_status_shows_versions_keys_and_the_fields_each_protects(
    cli_env: Instance, people: World
) -> None:
    result = run_keys("status")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"key file {cli_env.key_file}: KEK versions 1 (current 1)"
    assert "  KEK version 1 wraps 1 data key(s) (current: wraps new data keys)" in lines
    assert "data keys: 1 (1 current, 0 superseded, 0 retired, 0 destroyed)" in lines
    assert any(line.split() == ["1", "accounts", "v1", "current", "7"] for line in lines)
    assert lines[-1] == "encrypted fields: 7"
    summary = run_keys("status", "--summary").stdout.splitlines()
    assert any(line.split() == ["accounts", "v1", "current", "1", "7"] for line in summary)


def test_after_rotations_the_running_app_and_a_new_worker_read_everything(
    cli_env: Instance, enc_app: Flask, people: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = secrets_in_store(enc_app)
    rotated = run_keys("rotate")
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.splitlines() == [
        f"added KEK version 2 to {cli_env.key_file}",
        "re-wrapped 1 data key(s) under KEK version 2",
    ]
    # On a terminal the long phases show a progress bar.
    monkeypatch.setattr(
        keys_cli, "sys", SimpleNamespace(stdout=SimpleNamespace(isatty=lambda: True))
    )
    reencrypted = run_keys("rotate", "--reencrypt", "--batch-size", "3")
    assert reencrypted.exit_code == 0, reencrypted.output
    assert "Re-encrypting fields" in reencrypted.stdout
    assert "added KEK version 3" in reencrypted.stdout
    assert "new data keys for 1 scope(s)" in reencrypted.stdout
    assert "re-encrypted 7 field(s); 7 checked in the last of 2 pass(es)" in reencrypted.stdout
    assert reencrypted.stdout.rstrip().endswith("retired 1 data key(s) no field uses any more")

    # The app loaded the key file when it held version 1 only; it reads on, and signs in.
    assert secrets_in_store(enc_app) == before
    for who in ("lead_ben", "auditor_eve"):
        person = people.people[who]
        response = Browser(enc_app.test_client()).sign_in(
            person.username, person.password, totp_secret=person.totp_secret
        )
        assert response.headers["Location"].endswith("/dashboard")
    worker = create_app(cli_env.overrides)
    try:
        assert secrets_in_store(worker) == before
    finally:
        worker.extensions["btam"].stores.dispose()
    states = [
        (k.scope, k.kek_version, k.state)
        for k in data_keys(worker.extensions["btam"].stores.case_sessions)
    ]
    assert states == [("accounts", 3, "retired"), ("accounts", 3, "current")]


def test_a_second_rotation_is_refused_while_one_runs(cli_env: Instance, people: World) -> None:
    with KeyFileLock(cli_env.key_file):
        result = run_keys("rotate")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "another key rotation is running" in result.stderr
    assert run_keys("status").stdout.startswith(f"key file {cli_env.key_file}: KEK versions 1 ")


def test_each_rotation_is_recorded_in_the_audit_trail(
    cli_env: Instance, enc_app: Flask, people: World
) -> None:
    assert run_keys("rotate").exit_code == 0
    with KeyFileLock(cli_env.key_file):
        assert run_keys("rotate", "--reencrypt").exit_code == 1
    rotated = audit_entries(enc_app, "system:keys:rotated")
    assert [(e.actor_role, e.outcome, e.purpose) for e in rotated] == [
        ("system", "allowed", "started")
    ]
    reencrypted = audit_entries(enc_app, "system:keys:reencrypted")
    assert [(e.outcome, e.purpose) for e in reencrypted] == [
        ("allowed", "started"),
        ("error", "stopped before the end"),
    ]


def test_a_rotation_the_audit_trail_cannot_record_does_not_run(
    cli_env: Instance, people: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with closed_port() as port:
        monkeypatch.setenv(
            "BTAM_AUDIT_DATABASE_URL", f"postgresql+psycopg://btam@127.0.0.1:{port}/audit"
        )
        result = run_keys("rotate")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "audit trail" in result.stderr
    assert run_keys("status").stdout.startswith(f"key file {cli_env.key_file}: KEK versions 1 ")


# --------------------------------------------------------------------------- re-encryption online


def test_reencryption_while_the_app_reads_and_writes_loses_nothing(
    instance: Instance, enc_app: Flask, people: World
) -> None:
    sessions = enc_app.extensions["btam"].stores.case_sessions
    user_ids = sorted(p.user_id for p in people.people.values())
    # What each user's two fields may hold, in the order written; readers check against it.
    history: dict[int, list[tuple[str | None, str | None]]] = {}
    with sessions() as db:
        for user in db.execute(select(User)).scalars():
            user.mfa_pending_secret = f"pending {user.id} 0"
            history[user.id] = [(user.mfa_secret, user.mfa_pending_secret)]
        db.commit()

    requests: queue.Queue[int | None] = queue.Queue()
    written: queue.Queue[int] = queue.Queue()
    read_round = threading.Event()
    stop = threading.Event()
    problems: list[str] = []

    def writer() -> None:
        """The app changing the very row a re-encryption batch has just read."""
        count = 0
        while (user_id := requests.get(timeout=120)) is not None:
            count += 1
            with sessions() as db:
                user = db.get(User, user_id)
                assert user is not None
                value = (f"active {user_id} {count}", f"pending {user_id} {count}")
                history[user_id].append(value)  # before the commit: readers may see it then
                user.mfa_secret, user.mfa_pending_secret = value
                db.commit()
            written.put(user_id)

    def reader() -> None:
        while not stop.is_set():
            try:
                with sessions() as db:
                    for user in db.execute(select(User)).scalars():
                        seen = (user.mfa_secret, user.mfa_pending_secret)
                        if seen not in history[user.id]:
                            problems.append(f"user {user.id} read a value never written")
            except Exception as exc:  # any failure to read is what this test looks for
                problems.append(f"{type(exc).__name__}: {exc}")
            read_round.set()

    def app_moves(table: str, ids: Any) -> None:
        assert table == "users"
        read_round.clear()
        requests.put(ids[0])
        assert written.get(timeout=120) == ids[0]
        assert read_round.wait(timeout=120), "the readers stopped"

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    engine, rotation = instance.rotation_sessions()
    try:
        start_data_key_rotation(rotation, KekSource.load(instance.key_file))
        result = reencrypt_fields(rotation, batch_size=3, after_read=app_moves)
        retire_unused_keys(rotation, result.in_use)
    finally:
        requests.put(None)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        engine.dispose()

    assert problems == []
    assert result.complete and result.failed == 0
    assert result.conflicts >= 3  # the app won every race it was given; nothing was undone
    final = secrets_in_store(enc_app)
    assert final == {user_id: history[user_id][-1] for user_id in user_ids}
    current = [k for k in data_keys(sessions) if k.state == "current"]
    usage = field_usage(sessions)
    assert set(usage.by_key) == {current[0].id}
    assert usage.total == sum(value is not None for pair in final.values() for value in pair)
    assert [k.state for k in data_keys(sessions)] == ["retired", "current"]


def add_students(app: Flask, count: int, *, given: str = "Given") -> list[int]:
    """``count`` students through the model, each under a data key of their own."""
    with app.extensions["btam"].stores.case_sessions() as db:
        district_id = db.execute(select(District.id)).scalar_one()
        added = [
            Person(
                district_id=district_id,
                kind=PersonKind.STUDENT,
                given_name=f"{given} {n}",
                family_name=f"Family {n}",
            )
            for n in range(count)
        ]
        db.add_all(added)
        db.commit()
        return [person.id for person in added]


def students_in_store(app: Flask, ids: list[int]) -> dict[int, tuple[str | None, str | None]]:
    with app.extensions["btam"].stores.case_sessions() as db:
        found = db.execute(select(Person).where(Person.id.in_(ids))).scalars()
        return {p.id: (p.given_name, p.family_name) for p in found}


def reencrypt_as_the_command_does(instance: Instance, **options: Any) -> ReencryptResult:
    engine, rotation = instance.rotation_sessions()
    try:
        start_data_key_rotation(rotation, KekSource.load(instance.key_file))
        return reencrypt_fields(rotation, **options)
    finally:
        engine.dispose()


def only_current_keys_in_use(app: Flask) -> bool:
    sessions = app.extensions["btam"].stores.case_sessions
    current = {k.id for k in data_keys(sessions) if k.state == "current"}
    return set(field_usage(sessions).by_key) <= current


def test_a_large_batch_keeps_every_field_the_app_changed_meanwhile(
    instance: Instance, enc_app: Flask, people: World
) -> None:
    ids = add_students(enc_app, 120)
    expected = students_in_store(enc_app, ids)
    changed = {ids[0]: "Changed first", ids[59]: "Changed middle", ids[-1]: "Changed last"}
    batches: list[int] = []

    def app_writes(table: str, row_ids: Any) -> None:
        if table != "people":
            return
        batches.append(len(row_ids))
        if len(batches) == 1:
            with enc_app.extensions["btam"].stores.case_sessions() as db:
                for person_id, name in changed.items():
                    person = db.get(Person, person_id)
                    assert person is not None
                    person.given_name = name
                db.commit()

    result = reencrypt_as_the_command_does(instance, after_read=app_writes)

    # Every student in one batch, written at once; the three given names the app changed
    # between its read and its write are the app's, everything else moved.
    assert batches == [120, 120]
    assert (result.conflicts, result.failed, result.complete) == (3, 0, True)
    for person_id, name in changed.items():
        expected[person_id] = (name, expected[person_id][1])
    assert students_in_store(enc_app, ids) == expected
    assert only_current_keys_in_use(enc_app)


def test_a_batch_holds_at_most_its_bytes_of_ciphertext_yet_always_one_row(
    instance: Instance, enc_app: Flask, people: World
) -> None:
    ids = add_students(enc_app, 5, given="x" * 3000)
    (big,) = add_students(enc_app, 1, given="y" * 20_000)
    expected = students_in_store(enc_app, [*ids, big])
    batches: list[list[int]] = []

    def watch(table: str, row_ids: Any) -> None:
        if table == "people":
            batches.append(list(row_ids))

    # Two of the small rows fit in 7,000 bytes, three do not; the big row goes alone.
    result = reencrypt_as_the_command_does(instance, batch_bytes=7000, after_read=watch)

    one_pass = [ids[0:2], ids[2:4], ids[4:5], [big]]
    assert batches == one_pass + one_pass
    assert (result.failed, result.complete) == (0, True)
    assert students_in_store(enc_app, [*ids, big]) == expected
    assert only_current_keys_in_use(enc_app)


def test_the_checking_pass_moves_a_value_written_under_a_superseded_key(
    instance: Instance, enc_app: Flask, people: World
) -> None:
    ids = add_students(enc_app, 4)
    expected = students_in_store(enc_app, ids)
    sessions = enc_app.extensions["btam"].stores.case_sessions
    with sessions() as db:
        old = db.execute(select(Person.given_name_enc).where(Person.id == ids[0])).scalar_one()
    batches: list[list[int]] = []

    def late_writer(table: str, row_ids: Any) -> None:
        if table != "people":
            return
        batches.append(list(row_ids))
        if len(batches) == 2:
            # A request that read the key before the rotation commits its value only now,
            # after the batch holding that row was moved.
            with sessions() as db:
                db.execute(
                    update(Person.__table__)
                    .where(Person.__table__.c.id == ids[0])
                    .values(given_name_enc=old)
                )
                db.commit()

    result = reencrypt_as_the_command_does(instance, batch_size=2, after_read=late_writer)

    assert batches[0] == ids[0:2] and batches[1] == ids[2:4]
    assert (result.passes, result.conflicts, result.complete) == (3, 0, True)
    assert students_in_store(enc_app, ids) == expected
    assert only_current_keys_in_use(enc_app)


def test_an_interrupted_reencryption_resumes_and_finishes(
    cli_env: Instance, enc_app: Flask, people: World
) -> None:
    before = secrets_in_store(enc_app)
    engine, rotation = cli_env.rotation_sessions()

    class Interrupted(Exception):
        pass

    def stop_after_two_batches(_label: str, done: int, _total: int) -> None:
        if done >= 4:
            raise Interrupted

    try:
        with KeyFileLock(cli_env.key_file) as lock:
            add_kek_version(lock)
        source = KekSource.load(cli_env.key_file)
        rotation = sessionmaker(engine, expire_on_commit=False, info=session_info(source))
        rewrap_data_keys(rotation, source)
        start_data_key_rotation(rotation, source)
        with pytest.raises(Interrupted):
            reencrypt_fields(rotation, batch_size=2, progress=stop_after_two_batches)
    finally:
        engine.dispose()
    halfway = field_usage(enc_app.extensions["btam"].stores.case_sessions)
    assert len(halfway.by_key) == 2 and sum(halfway.by_key.values()) == 7

    result = run_keys("rotate", "--reencrypt")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "finishing the re-encryption an earlier run started"
    assert "re-encrypted 3 field(s)" in result.stdout
    assert "added KEK version" not in result.stdout and "new data keys" not in result.stdout
    assert secrets_in_store(enc_app) == before
    states = [
        (k.kek_version, k.state) for k in data_keys(enc_app.extensions["btam"].stores.case_sessions)
    ]
    assert states == [(2, "retired"), (2, "current")]


# --------------------------------------------------------------------------- start-up


def one_line_refusal(instance: Instance) -> str:
    with pytest.raises(ConfigError) as refused:
        create_app(instance.overrides)
    reason = str(refused.value)
    assert "\n" not in reason
    # The same through gunicorn's entry point and the command line.
    env = {**os.environ, **instance.env()}
    wsgi = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert wsgi.returncode == 3
    assert wsgi.stderr == f"btam: refusing to start: {reason}\n"
    btam = subprocess.run(  # noqa: S603  (the console script of this virtualenv)
        [str(Path(sys.executable).with_name("btam")), "demo", "--password", "x" * 20],
        env=env,
        capture_output=True,
        text=True,
    )
    assert btam.returncode == 1 and btam.stderr.count("\n") == 1
    assert btam.stderr.startswith("btam: configuration: encryption key: ")
    return reason


def test_start_up_with_another_key_file_is_refused_in_one_line(
    instance: Instance, people: World
) -> None:
    instance.key_file.unlink()
    generate_key_file(instance.key_file)
    reason = one_line_refusal(instance)
    assert reason == (
        f"encryption key: key file {instance.key_file} does not match the case store: "
        "KEK version 1 cannot unwrap data key 1"
    )


def test_start_up_with_a_key_file_others_can_read_is_refused(
    instance: Instance, people: World
) -> None:
    os.chmod(instance.key_file, 0o640)
    assert "it must be accessible to its owner only (chmod 600)" in one_line_refusal(instance)


def test_start_up_without_a_key_file_is_refused(instance: Instance) -> None:
    instance.key_file.unlink()
    assert one_line_refusal(instance) == (
        f"encryption key: key file {instance.key_file} does not exist"
    )


def test_keys_status_with_the_wrong_key_file_exits_non_zero_in_one_line(
    cli_env: Instance, people: World
) -> None:
    cli_env.key_file.unlink()
    generate_key_file(cli_env.key_file)
    result = run_keys("status")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "does not match the case store" in result.stderr
    rotate = run_keys("rotate")
    assert rotate.exit_code == 1 and "does not match" in rotate.stderr
    assert KekSource.load(cli_env.key_file).kek.versions == (1,)  # nothing was added


def test_data_keys_live_in_the_case_store_only(
    instance: Instance, enc_app: Flask, people: World
) -> None:
    with enc_app.extensions["btam"].stores.case_sessions() as db:
        assert db.execute(select(DataKey.scope)).scalars().all() == ["accounts"]
    with enc_app.extensions["btam"].stores.audit_engine.connect() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    if instance.kind == "sqlite"
                    else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            )
            .scalars()
            .all()
        )
    assert "data_keys" not in tables
