"""Times are stored in UTC and read and typed in the district's time zone.

The district administrator chooses the zone at /admin/district; every page then shows each
time in that zone with the zone named, a time typed into a form means that zone's time, and
the auditor's date filters mean that zone's calendar days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

from btam.accounts.models import District
from btam.accounts.services import organisation
from btam.assessment.models import Notice
from btam.audit import reader
from btam.audit.models import AuditEntry
from btam.cases.models import Note
from btam.cli import cli
from btam.db import AuditBase
from tests.support.cases import seed_cases
from tests.support.personas import World, system_ctx
from tests.support.stores import audit_entries
from tests.support.web import signed_in

CHICAGO = "America/Chicago"


def set_zone(app: Flask, world: World, zone: str) -> None:
    browser = signed_in(app, world, "admin_fay")
    answer = browser.submit("/admin/district", {"assessment_model": "default", "time_zone": zone})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]


def district_zone(app: Flask) -> str:
    with app.extensions["btam"].stores.case_sessions() as db:
        return db.execute(select(District.time_zone)).scalar_one()


def test_a_new_district_reads_utc_until_its_administrator_chooses_a_zone(
    app: Flask, world: World
) -> None:
    assert district_zone(app) == "UTC"
    set_zone(app, world, CHICAGO)
    assert district_zone(app) == CHICAGO
    [entry] = audit_entries(app, "admin:district:updated")
    assert entry.actor_id == world.admin_fay.user_id and CHICAGO in (entry.purpose or "")
    page = signed_in(app, world, "admin_fay").get("/admin/district").get_data(as_text=True)
    assert f'<option selected value="{CHICAGO}">' in page


@pytest.mark.parametrize(
    "hostile", ["Mars/Olympus_Mons", "../../etc/passwd", "America/Chicago\x00", "", "utc " * 40]
)
def test_a_zone_that_is_not_a_zone_is_refused_and_nothing_changes(
    app: Flask, world: World, hostile: str
) -> None:
    browser = signed_in(app, world, "admin_fay")
    answer = browser.submit(
        "/admin/district", {"assessment_model": "default", "time_zone": hostile}
    )
    assert answer.status_code == 400
    assert district_zone(app) == "UTC"
    assert audit_entries(app, "admin:district:updated") == []


def test_pages_show_times_in_the_district_zone_with_the_zone_named(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    set_zone(app, world, CHICAGO)
    with app.extensions["btam"].stores.case_sessions() as db:
        created = db.execute(select(Note.created_at).order_by(Note.id)).scalars().first()
    assert created is not None
    local = created.astimezone(ZoneInfo(CHICAGO))
    html = signed_in(app, world, "lead_ben").get(f"/cases/{seeded.north}").get_data(as_text=True)
    assert f"{local:%Y-%m-%d %H:%M %Z}" in html  # CST or CDT, as the date falls
    assert f"{created.astimezone(UTC):%Y-%m-%d %H:%M} UTC" not in html


def test_a_time_typed_into_a_form_means_the_district_zone(app: Flask, world: World) -> None:
    seeded = seed_cases(app, world)
    set_zone(app, world, CHICAGO)
    day = datetime.now(ZoneInfo(CHICAGO)).date() - timedelta(days=1)
    url = f"/cases/{seeded.north}"
    answer = signed_in(app, world, "lead_ben").submit(
        url,
        {
            "kind": "superintendent",
            "recipient": "Dr. Alvarez, the superintendent's designee",
            "given_on": day.isoformat(),
            "given_at": "09:30",
            "method": "phone",
        },
        action=f"{url}/notices",
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    with app.extensions["btam"].stores.case_sessions() as db:
        given = db.execute(select(Notice.given_at)).scalar_one()
    typed = datetime(day.year, day.month, day.day, 9, 30, tzinfo=ZoneInfo(CHICAGO))
    assert given == typed.astimezone(UTC)


def test_the_trails_date_filter_means_the_district_calendar_day() -> None:
    """An entry made at 03:00 UTC on December 2 was made on December 1 in Honolulu."""
    engine = create_engine("sqlite://")
    AuditBase.metadata.create_all(engine, tables=[AuditEntry.__table__])  # type: ignore[list-item]
    late = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    with Session(engine) as db:
        db.execute(
            insert(AuditEntry),
            [
                {
                    "seq": 1,
                    "at": late,
                    "actor_role": "system",
                    "action": "system:store:initialised",
                    "outcome": "allowed",
                    "prev_hash": "0" * 64,
                    "entry_hash": "1" * 64,
                }
            ],
        )

        def kept(zone: str, day: date) -> list[int]:
            flt = reader.TrailFilter(date_from=day, date_to=day, zone=ZoneInfo(zone))
            return list(db.execute(flt.apply(select(AuditEntry.seq))).scalars())

        assert kept("UTC", date(2026, 12, 2)) == [1]
        assert kept("Pacific/Honolulu", date(2026, 12, 2)) == []
        assert kept("Pacific/Honolulu", date(2026, 12, 1)) == [1]


def test_the_command_line_makes_one_district_in_a_zone_of_its_naming(
    app: Flask, overrides: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    # ``app`` made the stores; no world (and so no district) is made here.
    for name, key in (
        ("BTAM_INSTANCE", "instance"),
        ("BTAM_DATABASE_URL", "database_url"),
        ("BTAM_AUDIT_DATABASE_URL", "audit_database_url"),
        ("BTAM_SECRET_KEY", "secret_key"),
    ):
        monkeypatch.setenv(name, str(overrides[key]))
    monkeypatch.setenv("BTAM_CONFIG", "testing")
    runner = CliRunner()
    refused = runner.invoke(cli, ["create-district", "Lakeside USD", "--time-zone", "Mars/Base"])
    assert refused.exit_code != 0
    made = runner.invoke(cli, ["create-district", "Lakeside USD", "--time-zone", CHICAGO])
    assert made.exit_code == 0, made.output
    again = runner.invoke(cli, ["create-district", "Another USD"])
    assert again.exit_code != 0
    ctx = system_ctx(app)
    try:
        assert str(organisation.district_zone(ctx)) == CHICAGO
        assert organisation.the_district(ctx).name == "Lakeside USD"
    finally:
        ctx.db.close()
    assert [e.object_type for e in audit_entries(app, "admin:district:created")] == ["district"]
