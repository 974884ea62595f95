"""The main pages cost a fixed number of queries, whatever the number of records they show.

A page that ran one query per note, person, case or report would pass every other test and
still fall over at a state's scale (bench/pages.py measures that); here each page is loaded
once with a few records and once with more, and must ask both stores the same number of
questions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from flask import Flask
from sqlalchemy import event

from btam.access.actor import Role
from btam.access.record_classes import RecordClass
from btam.accounts.services import users
from btam.cases.services import opening, records
from btam.context import carry_out
from btam.intake.services import triage
from btam.people.terms import Part
from tests.support.cases import acting_as, student
from tests.support.intake import seed_report
from tests.support.intake import student as mentioned
from tests.support.personas import PASSWORD, World, system_ctx
from tests.support.web import Browser, signed_in


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    """Every statement either store runs meanwhile."""
    stores = app.extensions["btam"].stores
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engines = (stores.case_engine, stores.audit_engine)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def queries(app: Flask, browser: Browser, url: str) -> int:
    browser.get(url)  # the first visit of a session may warm what later ones reuse
    with counting(app) as seen:
        response = browser.get(url)
    assert response.status_code == 200, url
    return len(seen)


def open_case(app: Flask, world: World, number: int) -> str:
    with acting_as(app, world, "lead_ben") as ctx:
        return carry_out(
            ctx,
            opening.open_case(
                ctx,
                school_id=world.school_ids["NHS"],
                team_id=world.team_ids["north"],
                summary=f"Threat number {number} written on a locker.",
                subject=student(
                    "Casey",
                    f"Subject{number}",
                    born=date(2010, 1, number % 28 + 1),
                    number=f"S-{number:04d}",
                ),
            ),
        ).number


def add_records(app: Flask, world: World, number: str, count: int, *, first: int = 0) -> None:
    """Notes of every class the lead and the team file, and people in every part."""
    for i in range(first, first + count):
        with acting_as(app, world, "lead_ben") as ctx:
            carry_out(
                ctx,
                records.add_note(
                    ctx, number, record_class=RecordClass.EDUCATION, body=f"Education note {i}"
                ),
            )
            carry_out(
                ctx,
                records.add_party(
                    ctx,
                    number,
                    part=(Part.TARGET, Part.WITNESS, Part.PARENT)[i % 3],
                    person=student(
                        "Robin", f"Person{i}", born=date(2011, 2, i % 28 + 1), number=f"P-{i:04d}"
                    ),
                ),
            )
        with acting_as(app, world, "member_gus") as ctx:
            carry_out(
                ctx,
                records.add_note(
                    ctx,
                    number,
                    record_class=RecordClass.COUNSELING,
                    body=f"Screening {i}",
                    team_summary=f"Summary {i}",
                ),
            )


def test_a_case_page_costs_the_same_queries_whatever_its_notes_and_people(
    app: Flask, world: World
) -> None:
    number = open_case(app, world, 1)
    add_records(app, world, number, 1)
    lead = signed_in(app, world, "lead_ben")
    few = queries(app, lead, f"/cases/{number}")
    add_records(app, world, number, 6, first=1)
    assert queries(app, lead, f"/cases/{number}") == few


def test_the_case_list_costs_the_same_queries_whatever_its_cases(app: Flask, world: World) -> None:
    open_case(app, world, 1)
    lead = signed_in(app, world, "lead_ben")
    few = queries(app, lead, "/cases/")
    for n in range(2, 8):
        open_case(app, world, n)
    assert queries(app, lead, "/cases/") == few


def test_the_triage_queue_costs_the_same_queries_whatever_its_reports(
    app: Flask, world: World
) -> None:
    def report(n: int) -> None:
        # Every other report names the subject of an open case again: a history to find.
        again = n % 2 == 1
        seed_report(
            app,
            world,
            people=(
                (
                    Part.SUBJECT,
                    student("Casey", "Subject1", born=date(2010, 1, 2), number="S-0001")
                    if again
                    else mentioned("Alex", f"Reported{n}", f"R-{n:04d}"),
                ),
            ),
        )

    open_case(app, world, 1)
    report(1)
    lead = signed_in(app, world, "lead_ben")
    few = queries(app, lead, "/triage/")
    for n in range(2, 8):
        report(n)
    assert queries(app, lead, "/triage/") == few


def test_the_queue_counts_what_each_report_page_shows_as_its_history(
    app: Flask, world: World
) -> None:
    open_case(app, world, 1)
    for _n in range(1, 5):
        seed_report(
            app,
            world,
            people=(
                (
                    Part.SUBJECT,
                    student("Casey", "Subject1", born=date(2010, 1, 2), number="S-0001"),
                ),
            ),
        )
    with acting_as(app, world, "lead_ben") as ctx:
        items = triage.queue(ctx).items
        assert [i.earlier for i in items] == [
            len(triage.view_report(ctx, i.id).history) for i in items
        ]
        assert all(i.earlier for i in items)


def test_the_auditors_trail_costs_the_same_queries_whatever_the_number_of_users(
    app: Flask, world: World
) -> None:
    number = open_case(app, world, 1)
    auditor = signed_in(app, world, "auditor_eve")
    url = f"/audit/?case_number={number}"
    few = queries(app, auditor, url)
    ctx = system_ctx(app)
    try:
        for n in range(6):
            carry_out(
                ctx,
                users.create_user(
                    ctx,
                    data=users.UserData(
                        username=f"staff_{n}",
                        display_name=f"Staff {n}",
                        role=Role.STAFF,
                        discipline=None,
                        district_wide=False,
                        school_ids=(world.school_ids["NHS"], world.school_ids["SMS"]),
                    ),
                    password=PASSWORD,
                ),
            )
    finally:
        ctx.db.close()
    assert number
    assert queries(app, auditor, url) == few


def test_a_person_page_costs_the_same_queries_whatever_the_persons_cases(
    app: Flask, world: World
) -> None:
    def case_of_the_same_student() -> int:
        with acting_as(app, world, "lead_ben") as ctx:
            return carry_out(
                ctx,
                opening.open_case(
                    ctx,
                    school_id=world.school_ids["NHS"],
                    team_id=world.team_ids["north"],
                    summary="The same student, again.",
                    subject=student("Casey", "Again", born=date(2010, 5, 6), number="S-7777"),
                ),
            ).subject_id

    person_id = case_of_the_same_student()
    lead = signed_in(app, world, "lead_ben")
    few = queries(app, lead, f"/people/{person_id}")
    for _n in range(4):
        assert case_of_the_same_student() == person_id
    assert queries(app, lead, f"/people/{person_id}") == few


def test_the_home_page_costs_the_same_queries_whatever_the_open_cases(
    app: Flask, world: World
) -> None:
    lead = signed_in(app, world, "lead_ben")
    add_records(app, world, open_case(app, world, 1), 1)
    few = queries(app, lead, "/dashboard")
    for n in range(2, 5):
        add_records(app, world, open_case(app, world, n), 1, first=n * 10)
    # Each open case's owed notifications are worked out with the others, not one by one.
    assert queries(app, lead, "/dashboard") == few
