"""Real parallel clients against the app as gunicorn serves it (two workers, as ``make run``;
and four, for the sign-in races, on the same stores), on the stores of this run: SQLite, or
PostgreSQL with ``BTAM_TEST_STORES=postgresql``.

Sign-in holds under concurrency (every parallel guess counted, one code good for one session),
and a mixed load of sign-ins, case notes, tips and tipsters' messages gets no server error,
loses nothing, and leaves a trail that reconciles with the case store.

Each client stands for another person in another place: its own address, sent as
``X-Forwarded-For`` to a server that trusts one proxy hop, so that no test's attempts count
against another's. Clients are released together by a barrier, never by sleeping; each does
a fixed number of requests, so a run takes as long as the work, not a set time. The server
hashes passwords at the floor the settings allow outside tests (19 MiB, 2 iterations).

Demo accounts used (``btam/demo``), one test each so that no lockout reaches another test:
``counselor.ng`` (guessed at), ``lead.okafor`` (a TOTP code), ``psych.lindqvist`` (a recovery
code), ``ap.chen`` (writes the notes) and ``teacher.brooks`` (signs in over and over).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pyotp
import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from btam.accounts.models import User, UserSession
from btam.audit.models import AuditEntry
from btam.db import make_engine
from tests.browser.live import LiveServer, btam_command, serve, serve_again
from tests.support.http import (
    Answer,
    Client,
    follow_up_code_on,
    recovery_codes_on,
    totp_secret_on,
)
from tests.support.postgres import fresh_database
from tests.support.web import csrf_token

T = TypeVar("T")
STORE = os.environ.get("BTAM_TEST_STORES", "sqlite")
DEMO_PASSWORD = "copper lantern drifting over quiet meadows"
GENERIC = "The user name or password is not right"
ACCOUNT_LIMIT = 5


class Served:
    """The server, a busier one on the same stores, and direct looks into the stores (for
    what no page shows)."""

    def __init__(self, server: LiveServer, busy: LiveServer, case_url: str, audit_url: str) -> None:
        self.server = server
        self.busy = busy
        self.case: Engine = make_engine(case_url)
        self.audit: Engine = make_engine(audit_url)

    def client(self, address: str, *, busy: bool = False) -> Client:
        """A browser at ``address``, of the two-worker server (or of the busier one)."""
        return Client((self.busy if busy else self.server).base_url, address=address)

    def entries(self, action: str, addresses: set[str]) -> list[AuditEntry]:
        """The trail's entries of ``action`` made from ``addresses``."""
        with Session(self.audit) as db:
            return list(
                db.scalars(
                    select(AuditEntry).where(
                        AuditEntry.action == action, AuditEntry.client_address.in_(addresses)
                    )
                )
            )

    def dispose(self) -> None:
        self.case.dispose()
        self.audit.dispose()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home: Path = tmp_path_factory.mktemp("parallel")
    with ExitStack() as stack:
        if STORE == "postgresql":
            case_url = stack.enter_context(fresh_database("btam_live_case"))
            audit_url = stack.enter_context(fresh_database("btam_live_audit"))
        else:
            case_url = f"sqlite:///{home}/btam.sqlite3"
            audit_url = f"sqlite:///{home}/audit.sqlite3"
        server = stack.enter_context(
            serve(
                home,
                demo_password=DEMO_PASSWORD,
                admin_username="admin.osei",
                admin_name="Ama Osei",
                settings={
                    "BTAM_DATABASE_URL": case_url,
                    "BTAM_AUDIT_DATABASE_URL": audit_url,
                    "BTAM_HTTP_PROXY_HOPS": "1",
                    "BTAM_PASSWORDS_ARGON2_MEMORY_KIB": "19456",
                    "BTAM_PASSWORDS_ARGON2_TIME_COST": "2",
                },
            )
        )
        # Sign-in races are run on more workers, so that many attempts are in flight at once.
        busy = stack.enter_context(serve_again(server, home / "gunicorn-busy.log", workers=4))
        looks = Served(server, busy, case_url, audit_url)
        stack.callback(looks.dispose)
        yield looks


def in_parallel(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call in a thread of its own, all released at the same moment."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        start.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def first_sign_in(
    served: Served, username: str, address: str, *, busy: bool = False
) -> tuple[Client, str, list[str]]:
    """Sign in for the first time, enrolling an authenticator through the pages; return the
    signed-in client, the authenticator's key and the recovery codes. The enrolment's code is
    of the step before now, so the current and the next step are still free."""
    client = served.client(address, busy=busy)
    passed = client.submit("/login", {"username": username, "password": DEMO_PASSWORD})
    assert passed.path == "/login/setup", passed
    page = client.get("/login/setup")
    secret = totp_secret_on(page.text)
    previous = (int(time.time() // 30) - 1) * 30
    shown = client.post(
        "/login/setup",
        {"csrf_token": csrf_token(page.text), "code": pyotp.TOTP(secret).at(previous)},
    )
    codes = recovery_codes_on(shown.text)
    assert len(codes) == 10, shown.status
    done = client.post("/login/finish", {"csrf_token": csrf_token(shown.text)})
    assert done.path == "/dashboard", done
    return client, secret, codes


def past_the_password(served: Served, username: str, addresses: list[str]) -> list[Client]:
    """Clients that have each given the right password, one after the other, and wait at the
    second step, with its form token."""
    clients = []
    for address in addresses:
        client = served.client(address, busy=True)
        passed = client.submit("/login", {"username": username, "password": DEMO_PASSWORD})
        assert passed.path == "/login/code", passed
        clients.append(client)
    return clients


# --- sign-in under concurrency -------------------------------------------------------------


def test_parallel_wrong_passwords_are_all_counted_and_lock_the_account(served: Served) -> None:
    """36 guesses at once, each from another address: at most the limit are checked (and
    answered "wrong"), every other one is refused as a lockout, each is on record, and then
    the right password is refused too."""
    addresses = [f"10.1.0.{n}" for n in range(1, 37)]
    clients = [served.client(address, busy=True) for address in addresses]
    tokens = [client.token("/login") for client in clients]
    guess = {"username": "counselor.ng", "password": "not the password, a guess"}

    answers = in_parallel(
        [
            lambda c=client, t=token: c.post("/login", {"csrf_token": t, **guess})
            for client, token in zip(clients, tokens, strict=True)
        ]
    )

    wrong = [a for a in answers if a.status == 200 and GENERIC in a.text]
    refused = [a for a in answers if a.status == 429]
    assert len(wrong) + len(refused) == len(answers), sorted({a.status for a in answers})
    assert 1 <= len(wrong) <= ACCOUNT_LIMIT
    on_record = set(addresses)
    assert len(served.entries("auth:login:failure", on_record)) == len(wrong)
    assert len(served.entries("auth:login:locked", on_record)) == len(refused)
    right = served.client("10.1.1.1", busy=True).submit(
        "/login", {"username": "counselor.ng", "password": DEMO_PASSWORD}
    )
    assert right.status == 429


def test_one_totp_code_opens_one_session_among_parallel_clients(served: Served) -> None:
    _client, secret, _codes = first_sign_in(served, "lead.okafor", "10.2.0.1", busy=True)
    addresses = [f"10.2.1.{n}" for n in range(1, 9)]
    clients = past_the_password(served, "lead.okafor", addresses)
    tokens = [client.token("/login/code") for client in clients]
    code = pyotp.TOTP(secret).now()

    answers = in_parallel(
        [
            lambda c=client, t=token: c.post("/login/code", {"csrf_token": t, "code": code})
            for client, token in zip(clients, tokens, strict=True)
        ]
    )

    assert [a.path for a in answers].count("/dashboard") == 1, [a.status for a in answers]
    assert all(a.path == "/dashboard" or a.status in {200, 429} for a in answers)
    assert len(served.entries("auth:mfa:success", set(addresses))) == 1
    assert len(served.entries("auth:login:success", set(addresses))) == 1


def test_one_recovery_code_opens_one_session_among_parallel_clients(served: Served) -> None:
    _client, _secret, codes = first_sign_in(served, "psych.lindqvist", "10.4.0.1", busy=True)
    addresses = [f"10.4.1.{n}" for n in range(1, 9)]
    clients = past_the_password(served, "psych.lindqvist", addresses)
    tokens = [client.token("/login/code") for client in clients]

    answers = in_parallel(
        [
            lambda c=client, t=token: c.post("/login/code", {"csrf_token": t, "code": codes[0]})
            for client, token in zip(clients, tokens, strict=True)
        ]
    )

    assert [a.path for a in answers].count("/dashboard") == 1, [a.status for a in answers]
    assert all(a.path == "/dashboard" or a.status in {200, 429} for a in answers)
    assert len(served.entries("auth:recovery_code:used", set(addresses))) == 1


# --- a mixed load --------------------------------------------------------------------------

CLIENTS = 20
ROUNDS = 4  # notes and messages each client sends, after its tip and its sign-in


def a_case_to_write_in(chen: Client) -> str:
    """The number of a case ``ap.chen`` may add notes to."""
    listing = chen.get("/cases/")
    for number in dict.fromkeys(re.findall(r'href="/cases/(\d{4}-\d{4})"', listing.text)):
        if f'action="/cases/{number}/notes"' in chen.get(f"/cases/{number}").text:
            return number
    raise AssertionError("ap.chen may write in no case")


def a_school_of_the_tip_line(served: Served) -> str:
    page = served.client("10.3.0.2").get("/tip")
    match = re.search(r'<option value="(\d+)"', page.text)
    assert match, "the tip line offers no school"
    return match.group(1)


def test_twenty_clients_at_once_get_no_server_error_and_lose_nothing(served: Served) -> None:
    """Each of 20 people at once sends a tip, signs in, opens a page, and adds notes to a case
    and messages to its tip in turns: 0 answers of 5xx, every note and message stored, and
    ``btam audit reconcile`` finds the trail and the case store in agreement."""
    chen, _secret, _codes = first_sign_in(served, "ap.chen", "10.3.0.1")
    case = a_case_to_write_in(chen)
    token = chen.token(f"/cases/{case}")
    school = a_school_of_the_tip_line(served)
    # ap.chen's session was last used over a minute ago: the first pages the clients open in
    # it all find its last use due to be written, at once.
    with served.case.begin() as conn:
        chen_id = conn.execute(select(User.id).where(User.username == "ap.chen")).scalar_one()
        conn.execute(
            update(UserSession)
            .where(UserSession.user_id == chen_id)
            .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=1))
        )

    def one_person(n: int) -> tuple[list[tuple[str, Answer]], str]:
        me = served.client(f"10.3.1.{n}")
        team = chen.copy(address=f"10.3.1.{n}")
        seen: list[tuple[str, Answer]] = []
        seen.append(("case page", team.get(f"/cases/{case}")))
        tip = me.post(
            "/tip",
            {
                "school_id": school,
                "category": "violence",
                "what": f"Load tip {n}: someone said there would be a fight after school.",
                "who": "",
                "where": "",
                "when": "",
            },
        )
        seen.append(("tip", tip))
        code = follow_up_code_on(tip.text) if tip.status == 200 else ""
        seen.append(("sign-in page", me.get("/login")))
        seen.append(
            (
                "sign-in",
                me.post(
                    "/login",
                    {
                        "csrf_token": csrf_token(seen[-1][1].text),
                        "username": "teacher.brooks",
                        "password": DEMO_PASSWORD,
                    },
                ),
            )
        )
        seen.append(("dashboard", me.get("/dashboard")))
        for r in range(ROUNDS):
            note = {"csrf_token": token, "record_class": "education", "body": f"Load note {n}-{r}"}
            seen.append(("note", team.post(f"/cases/{case}/notes", note)))
            message = {"code": code, "message": f"Load message {n}-{r}"}
            seen.append(("message", me.post("/tip/follow-up", message)))
        return seen, code

    results = in_parallel([lambda n=n: one_person(n) for n in range(1, CLIENTS + 1)])

    answers = [(what, a) for seen, _code in results for what, a in seen]
    assert len(answers) == CLIENTS * (5 + 2 * ROUNDS)
    errors = [(what, a.status) for what, a in answers if a.status >= 500]
    assert errors == [], f"{len(errors)} server errors: {errors[:10]}"
    expected = {
        "case page": {200},
        "tip": {200},
        "sign-in page": {200},
        "sign-in": {302},
        "dashboard": {200},
        "note": {302},
        "message": {200},
    }
    unexpected = [(what, a.status) for what, a in answers if a.status not in expected[what]]
    assert unexpected == [], unexpected[:10]

    notes = chen.get(f"/cases/{case}").text
    missing = [
        f"{n}-{r}"
        for n in range(1, CLIENTS + 1)
        for r in range(ROUNDS)
        if f"Load note {n}-{r}<" not in notes
    ]
    assert missing == [], f"notes not stored: {missing}"
    for n, (_seen, code) in enumerate(results, start=1):
        thread = served.client(f"10.3.2.{n}").post("/tip/follow-up", {"code": code}).text
        lost = [r for r in range(ROUNDS) if f"Load message {n}-{r}<" not in thread]
        assert lost == [], f"messages of client {n} not stored: {lost}"

    agreed = btam_command(served.server, "audit", "reconcile", "--settle", "0")
    assert "trail and case store agree" in agreed
