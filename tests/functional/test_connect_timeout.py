"""A PostgreSQL store that never answers: the connection gives up after its connect timeout
(``btam.db.CONNECT_TIMEOUT_SECONDS``, or the URL's own ``connect_timeout``) and the request
gets its answer, instead of a worker hanging on it for as long as the kernel keeps trying."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.engine import make_url

from btam import create_app, db
from tests.support.outage import closed_port, silent_port

# libpq takes no connect timeout under two seconds.
SHORT = 2
# How long the test lets a request run before it calls it hung: far above SHORT, far below
# what a connection without a timeout would take.
HUNG = 20 * SHORT


def test_every_postgresql_url_gets_a_connect_timeout_unless_it_sets_its_own() -> None:
    plain = make_url(db.normalize_url("postgresql://btam@db.example.internal/btam"))
    assert plain.query["connect_timeout"] == "10" == str(db.CONNECT_TIMEOUT_SECONDS)
    own = make_url(db.normalize_url("postgresql://btam@db.example.internal/btam?connect_timeout=3"))
    assert own.query["connect_timeout"] == "3"
    assert "connect_timeout" not in db.normalize_url("sqlite:///instance/btam.sqlite3")


def health_with_case_store_at(overrides: dict[str, object], url: str) -> int | None:
    """/healthz's status from a worker whose case store is at ``url`` (the worker checks the
    store as it starts, too), or None when no answer came within HUNG seconds."""
    answer: list[int] = []

    def start_and_ask() -> None:
        worker = create_app({**overrides, "database_url": url})
        try:
            answer.append(worker.test_client().get("/healthz").status_code)
        finally:
            worker.extensions["btam"].stores.dispose()

    thread = threading.Thread(target=start_and_ask, daemon=True)
    thread.start()
    thread.join(HUNG)
    return answer[0] if answer else None


@pytest.mark.parametrize("port_kind", ["silent", "closed"])
def test_a_case_store_that_never_answers_makes_health_answer_503_not_hang(
    overrides: dict[str, object], monkeypatch: pytest.MonkeyPatch, port_kind: str
) -> None:
    monkeypatch.setattr(db, "CONNECT_TIMEOUT_SECONDS", SHORT, raising=False)
    with silent_port() if port_kind == "silent" else closed_port() as port:
        url = f"postgresql+psycopg://btam@127.0.0.1:{port}/case"
        assert health_with_case_store_at(overrides, url) == 503
