"""A store that fails in the middle of a request: the person gets the plain 500 page with
every security header, the page reads nothing from the store that just failed, and no log
line carries the SQL, its parameters, the store's message or anything that was typed.

The store fails for real: a trigger makes it refuse an INSERT the request makes, on SQLite
and on PostgreSQL alike (``tests/support/outage.refusing_inserts``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text

from btam import create_app
from tests.functional.test_headers import assert_hardened, assert_shows_no_internals
from tests.support.intake import report_form
from tests.support.outage import refusing_inserts
from tests.support.personas import World, build_world
from tests.support.web import signed_in

# Words of SQL and of a driver's error that no log line may hold.
SQL_WORDS = ("INSERT", "SELECT", "UPDATE", "[SQL", "parameters", "VALUES", "sqlite3.", "psycopg.")


class StatementsAfterFailure:
    """Counts the statements the case store runs after its first failure in this test."""

    def __init__(self, app: Flask) -> None:
        self.engine = app.extensions["btam"].stores.case_engine
        self.failed = False
        self.after: list[str] = []

    def _on_error(self, _context: Any) -> None:
        self.failed = True

    def _on_statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.failed:
            self.after.append(statement.split(None, 1)[0].upper())

    def __enter__(self) -> StatementsAfterFailure:
        event.listen(self.engine, "handle_error", self._on_error)
        event.listen(self.engine, "before_cursor_execute", self._on_statement)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "handle_error", self._on_error)
        event.remove(self.engine, "before_cursor_execute", self._on_statement)


@pytest.fixture
def production_like(app: Flask) -> Iterator[Flask]:
    """The app as gunicorn runs it: exceptions are handled and logged, never propagated."""
    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield app


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records
    )


def assert_logs_hold_nothing(caplog: pytest.LogCaptureFixture, *values: str) -> None:
    text_of_logs = logged(caplog)
    assert "unhandled" in text_of_logs  # the failure itself was logged...
    for word in (*SQL_WORDS, *values):
        assert word not in text_of_logs, word  # ...by its type and frames only


def test_a_team_member_whose_report_the_store_refuses_gets_the_500_page_and_logs_hold_no_value(
    production_like: Flask, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """lead_ben's pages show the team's imminent alerts, read from the store: not the 500."""
    caplog.set_level(logging.DEBUG)
    ben = signed_in(production_like, world, "lead_ben")
    form = report_form(world, location="Zebulon wing, room 7731", occurred="Quarter past nine")
    with (
        refusing_inserts(production_like, "reports") as store_message,
        StatementsAfterFailure(production_like) as statements,
    ):
        response = ben.submit("/reports/new", form)
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page and "Nothing was changed" in page
    assert_hardened(response)
    assert_shows_no_internals(response)
    assert statements.failed
    assert statements.after == [], "the 500 page read from the store that had just failed"
    assert_logs_hold_nothing(caplog, store_message, "Zebulon", "7731", "Quarter past nine")
    # The next request of the same person is served as usual.
    assert ben.get("/reports/mine").status_code == 200


def test_an_admin_whose_new_school_the_store_refuses_gets_the_500_page_and_logs_hold_no_value(
    production_like: Flask, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The school's name and code travel as plain SQL parameters: neither reaches a log."""
    caplog.set_level(logging.DEBUG)
    fay = signed_in(production_like, world, "admin_fay")
    with refusing_inserts(production_like, "schools") as store_message:
        response = fay.submit(
            "/admin/schools", {"name": "Zebulon Pike Elementary", "code": "ZPE-77"}
        )
    assert response.status_code == 500
    assert_hardened(response)
    assert_shows_no_internals(response)
    assert_logs_hold_nothing(caplog, store_message, "Zebulon", "ZPE-77")
    assert fay.get("/admin/schools").status_code == 200


def _query_with_a_value_in_its_source() -> str:
    from btam import web

    web.case_db().execute(text("SELECT secret FROM no_such_table WHERE code = 'ZPE-77'"))
    return "unreachable"


def test_a_failing_query_whose_source_holds_sql_is_logged_without_it(
    overrides: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    """Frames are logged as file, line and function: their source lines (SQL text written in
    the code, literals) stay out of the log."""
    caplog.set_level(logging.DEBUG)
    application = create_app(overrides)
    application.add_url_rule("/query-for-test", "query_for_test", _query_with_a_value_in_its_source)
    application.testing = False
    application.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        world = build_world(application)
        response = signed_in(application, world, "teacher_cam").get("/query-for-test")
        assert response.status_code == 500
        assert_hardened(response)
        assert_logs_hold_nothing(caplog, "no_such_table", "ZPE-77", "secret")
        assert "test_store_errors.py" in logged(caplog)  # the frames are there
    finally:
        application.extensions["btam"].stores.dispose()


def test_an_error_page_that_cannot_be_rendered_is_still_a_hardened_500(
    production_like: Flask, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Even when the template fails (a broken deployment), the answer is a plain page with
    the security headers, not the server's bare error."""
    caplog.set_level(logging.DEBUG)
    production_like.jinja_env.globals["url_for"] = _failing_url_for
    response = production_like.test_client().post("/login", data={"username": "x"})
    assert response.status_code == 400
    assert "Request not understood" in response.get_data(as_text=True)
    assert_hardened(response)
    assert_shows_no_internals(response)
    assert "7731" not in logged(caplog)


def _failing_url_for(*_args: object, **_kwargs: object) -> str:
    raise RuntimeError("the template cannot build this URL: value 7731")
