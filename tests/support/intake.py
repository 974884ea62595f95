"""Helpers of the intake tests: the report and tip forms as a person fills them in, reports
seeded through the services at a chosen time, row counts and raw looks into both stores."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date, datetime
from html import unescape
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import MetaData, func, select, table
from sqlalchemy.engine import Engine

from btam.context import carry_out
from btam.intake.models import Report
from btam.intake.services import reports, tips
from btam.intake.services.reports import PersonEntry, ReportData
from btam.intake.services.tips import TipData
from btam.intake.terms import Channel, TipCategory
from btam.people.services.matching import PersonData
from btam.people.terms import Part, PersonKind
from tests.support.cases import acting_as
from tests.support.personas import World
from tests.support.web import Browser, signed_in

# What a refused submit must leave untouched (and what a good one adds to).
INTAKE_TABLES = (
    "reports",
    "report_people",
    "report_mentions",
    "people",
    "report_attachments",
    "report_actions",
    "tip_access",
    "tip_messages",
    "cases",
    "case_parties",
)
CODE = re.compile(r'<p class="code" aria-label="Your follow-up code">([^<]+)</p>')
ALERT = 'class="alert-imminent"'
PDF = b"%PDF-1.4\n% a screenshot of the message\n"

_BROWSERS: dict[tuple[int, str], Browser] = {}


def browser_of(app: Flask, world: World, who: str) -> Browser:
    """One signed-in browser per persona and app: TOTP codes cannot be reused at will."""
    key = (id(app), who)
    if key not in _BROWSERS:
        _BROWSERS[key] = signed_in(app, world, who)
    return _BROWSERS[key]


def page(app: Flask, world: World, who: str, url: str) -> tuple[int, str]:
    response = browser_of(app, world, who).get(url)
    return response.status_code, response.get_data(as_text=True)


def visitor(app: Flask, address: str = "192.0.2.10") -> Browser:
    """An anonymous browser whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Browser(client)


def person_fields(index: int, **values: str) -> dict[str, str]:
    defaults = {"part": "subject", "kind": "student"}
    return {f"people-{index}-{k}": v for k, v in {**defaults, **values}.items()}


def report_form(world: World, school: str = "NHS", **values: object) -> dict[str, object]:
    """The staff report form as a teacher fills it in; ``values`` override or add fields."""
    form: dict[str, object] = {
        "school_id": str(world.school_ids[school]),
        "channel": "staff",
        "occurred": "Tuesday, 10:40, between classes",
        "location": "Hallway by room 114",
        "narrative": "He said: 'Friday you will all see what happens.'",
    }
    form.update(values)
    return form


def tip_form(world: World, school: str = "NHS", **values: object) -> dict[str, object]:
    form: dict[str, object] = {
        "school_id": str(world.school_ids[school]),
        "category": "weapon",
        "what": "A boy showed a knife in the locker room and said he would use it.",
        "who": "A boy in 10th grade, red backpack",
        "where": "Gym locker room",
        "when": "Monday after lunch",
    }
    form.update(values)
    return form


def upload(data: bytes, filename: str, content_type: str) -> tuple[io.BytesIO, str, str]:
    return (io.BytesIO(data), filename, content_type)


def send_tip(browser: Browser, world: World, **values: object) -> str:
    """Send a tip from ``browser``; return the follow-up code the page shows once."""
    response = browser.client.post("/tip", data=tip_form(world, **values))
    assert response.status_code == 200, response.get_data(as_text=True)
    found = CODE.search(response.get_data(as_text=True))
    assert found, "the receipt shows no follow-up code"
    return unescape(found.group(1)).strip()


def row_counts(app: Flask) -> dict[str, int]:
    with app.extensions["btam"].stores.case_sessions() as db:
        return {
            name: int(db.execute(select(func.count()).select_from(table(name))).scalar_one())
            for name in INTAKE_TABLES
        }


def latest_report(app: Flask) -> Report:
    with app.extensions["btam"].stores.case_sessions() as db:
        found = db.execute(select(Report).order_by(Report.id.desc()).limit(1)).scalar_one()
        db.expunge(found)
        return found


def report_row(app: Flask, report_id: int) -> Report:
    with app.extensions["btam"].stores.case_sessions() as db:
        found = db.get(Report, report_id)
        assert found is not None
        db.expunge(found)
        return found


def report_count(app: Flask) -> int:
    with app.extensions["btam"].stores.case_sessions() as db:
        return int(db.execute(select(func.count(Report.id))).scalar_one())


def student(given: str, family: str, number: str = "", born: date | None = None) -> PersonData:
    return PersonData(
        kind=PersonKind.STUDENT,
        given_name=given,
        family_name=family,
        student_number=number,
        date_of_birth=born,
    )


def seed_report(
    app: Flask,
    world: World,
    *,
    by: str = "teacher_cam",
    school: str = "NHS",
    at: datetime | None = None,
    narrative: str = "Said he would hurt a classmate after school.",
    people: tuple[tuple[Part, PersonData], ...] = (),
    imminent: bool = False,
    confidential: bool = False,
) -> int:
    """A staff report submitted through the service, at ``at`` (now by default)."""
    with acting_as(app, world, by) as ctx:
        if at is not None:
            ctx = replace(ctx, now=at)
        return carry_out(
            ctx,
            reports.submit_report(
                ctx,
                ReportData(
                    school_id=world.school_ids[school],
                    channel=Channel.STAFF,
                    occurred="",
                    location="",
                    narrative=narrative,
                    people=[PersonEntry(part, person) for part, person in people],
                    imminent=imminent,
                    confidential=confidential,
                ),
            ),
        ).report_id


def seed_tip(app: Flask, world: World, *, school: str = "NHS", what: str = "") -> tuple[int, str]:
    """A tip sent through the service (no client address); returns its id and code."""
    with acting_as(app, world, "teacher_cam") as ctx:
        receipt = carry_out(
            ctx,
            tips.submit_tip(
                ctx,
                TipData(
                    school_id=world.school_ids[school],
                    category=TipCategory.VIOLENCE,
                    what=what or "Someone wrote a threat on the bathroom wall.",
                    who="",
                    where="",
                    when="",
                ),
                client=None,
            ),
        )
    return latest_report(app).id, receipt.code


# --------------------------------------------------------------------------- raw store looks


def _engines(app: Flask) -> tuple[Engine, Engine]:
    stores = app.extensions["btam"].stores
    return stores.case_engine, stores.audit_engine


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    return str(value)


def stores_contain(app: Flask, needle: str) -> list[str]:
    """Where ``needle`` occurs in any row of any table of either store (and, for SQLite, in
    the raw database files, free pages and write-ahead log included): ``table.column``."""
    found: list[str] = []
    for engine in _engines(app):
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(table.select()):
                    for column, value in row._mapping.items():
                        if value is not None and needle in _as_text(value):
                            found.append(f"{table.name}.{column}")
        if engine.dialect.name == "sqlite" and engine.url.database:
            base = Path(engine.url.database)
            for path in base.parent.glob(base.name + "*"):
                if needle.encode() in path.read_bytes():
                    found.append(f"file {path.name}")
    return found
