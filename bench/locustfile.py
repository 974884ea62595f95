"""The load of ``bench/load.py``: team members, counselors and auditors, and tipsters.

Every user works with its own account, signed in beforehand by ``bench/load.py`` through the
real pages (password, then a TOTP code), and reads and writes as its role does. Each request
the app records in the audit trail is counted here, by what it is, only when it succeeded;
``bench/load.py`` compares the count with the entries the trail gained.

Driven by ``bench/load.py``, which passes the accounts and targets in ``BENCH_LOAD_PLAN``
and reads the counts from ``BENCH_LOAD_COUNTS``.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
from html import unescape
from typing import Any

from locust import HttpUser, between, events, task

PLAN: dict[str, Any] = json.loads(open(os.environ["BENCH_LOAD_PLAN"]).read())  # noqa: SIM115
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')

# Audit entries each kind of request adds when it succeeds (checked against the app: the
# password step records one, the code step two, and every audited page or change one; the
# home page of a role with case work records the work list it shows).
ENTRIES = {
    "case page": 1,
    "case list": 1,
    "triage queue": 1,
    "person page": 1,
    "note added": 1,
    "audit trail": 1,
    "tip": 1,
    "home page": 1,
    "tip page": 0,
}
COUNTS: dict[str, int] = dict.fromkeys(ENTRIES, 0)
_LOCK = threading.Lock()
_POOLS: dict[str, list[dict[str, Any]]] = {
    "team": list(PLAN["team"]),
    "counselor": list(PLAN["counselors"]),
    "auditor": list(PLAN["auditors"]),
}


def counted(kind: str) -> None:
    with _LOCK:
        COUNTS[kind] += 1


def token(html: str) -> str:
    match = CSRF.search(html)
    if match is None:
        raise RuntimeError("no CSRF token on the page")
    return unescape(match.group(1))


class SignedIn(HttpUser):
    abstract = True
    pool = "team"
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        # Signed in before the timed run by bench/load.py (through the real pages, second
        # factor included): the run measures the work, not the sign-in queue.
        with _LOCK:
            self.account = _POOLS[self.pool].pop()
        self.client.cookies.update(self.account["cookies"])
        self.csrf = self.account["csrf"]

    def read(self, url: str, kind: str, name: str) -> None:
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code == 200:
                counted(kind)
                response.success()
            else:
                response.failure(f"{response.status_code}")


class TeamMember(SignedIn):
    """A team lead or member: the queue, the case list, its cases, notes, people."""

    fixed_count = len(PLAN["team"])
    pool = "team"

    def on_start(self) -> None:
        super().on_start()
        team = PLAN["teams"][str(self.account["team_id"])]
        self.cases: list[str] = team["cases"]
        self.people: list[int] = team["people"]
        self.pages: int = team["pages"]

    @task(6)
    def case_page(self) -> None:
        self.read(f"/cases/{random.choice(self.cases)}", "case page", "/cases/[number]")

    @task(2)
    def case_list(self) -> None:
        page = random.randint(1, self.pages)
        self.read(f"/cases/?page={page}", "case list", "/cases/?page=[n]")

    @task(1)
    def triage_queue(self) -> None:
        self.read("/triage/", "triage queue", "/triage/")

    @task(2)
    def home(self) -> None:
        self.read("/dashboard", "home page", "/dashboard")

    @task(1)
    def person(self) -> None:
        self.read(f"/people/{random.choice(self.people)}", "person page", "/people/[id]")

    @task(2)
    def add_note(self) -> None:
        number = random.choice(self.cases)
        with self.client.post(
            f"/cases/{number}/notes",
            data={
                "csrf_token": self.csrf,
                "record_class": "education",
                "body": "Checked in with the student at arrival; calm, attended every class.",
                "team_summary": "",
            },
            allow_redirects=False,
            name="/cases/[number]/notes",
            catch_response=True,
        ) as response:
            if response.status_code == 302:
                counted("note added")
                response.success()
            else:
                response.failure(f"{response.status_code}")


class Counselor(SignedIn):
    """A counselor: the home page and the case list of its assigned work."""

    fixed_count = len(PLAN["counselors"])
    pool = "counselor"

    @task
    def home(self) -> None:
        self.read("/dashboard", "home page", "/dashboard")

    @task
    def case_list(self) -> None:
        self.read("/cases/", "case list", "/cases/?page=[n]")


class Auditor(SignedIn):
    """An auditor: the trail, filtered by case."""

    fixed_count = len(PLAN["auditors"])
    pool = "auditor"

    @task
    def trail(self) -> None:
        number = random.choice(PLAN["case_numbers"])
        self.read(f"/audit/?case_number={number}", "audit trail", "/audit/?case_number=[number]")


class Tipster(HttpUser):
    """Anonymous: the tip page, then a tip (limits raised for the run, not switched off)."""

    weight = 1
    wait_time = between(2.0, 5.0)

    @task
    def tip(self) -> None:
        with self.client.get("/tip", name="/tip", catch_response=True) as page:
            if page.status_code != 200:
                page.failure(f"{page.status_code}")
                return
            page.success()
        with self.client.post(
            "/tip",
            data={
                "school_id": str(random.choice(PLAN["schools"])),
                "category": "weapon",
                "what": "A student said they would bring a knife to the game on Friday.",
                "who": "",
                "where": "gym",
                "when": "Friday",
            },
            name="/tip (submit)",
            catch_response=True,
        ) as response:
            if response.status_code == 200 and "Your tip was received" in response.text:
                counted("tip")
                response.success()
            else:
                response.failure(f"{response.status_code}")


@events.test_stop.add_listener
def _write_counts(**_kwargs: Any) -> None:
    with open(os.environ["BENCH_LOAD_COUNTS"], "w") as out:
        json.dump(
            {"counts": COUNTS, "entries": sum(ENTRIES[k] * n for k, n in COUNTS.items())}, out
        )
