"""A load run: gunicorn (two workers) under locust, then the audit trail checked.

    BTAM_INSTANCE=... .venv/bin/python bench/load.py [--users 24] [--seconds 60]

Runs against an instance filled by ``bench/seed.py``, on its stores (SQLite files or PostgreSQL
databases, as ``BTAM_DATABASE_URL`` and ``BTAM_AUDIT_DATABASE_URL`` say). Starts gunicorn on
127.0.0.1 with the project's gunicorn settings and two workers, the tip line's limits raised
for the run (the limits and the proof of work stay on: a real flood would meet them), and
drives it headless
with ``bench/locustfile.py`` for a fixed time: team leads and members reading and writing,
counselors, auditors, and anonymous tipsters. Then it prints throughput, latency, the count
of 5xx answers (which must be 0), runs ``btam audit verify`` and compares the entries the
trail gained with the audited actions the load script counted itself.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from pathlib import Path
from typing import Any

import pyotp
import requests
from sqlalchemy import text
from sqlalchemy.engine import make_url

from btam.db import make_engine
from btam.security.mfa import STEP_SECONDS
from btam.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def head_seq(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT coalesce(max(seq), 0) FROM audit_entries")).scalar_one()
            )
    finally:
        engine.dispose()


def plan(case_url: str, accounts: dict[str, Any], users: int) -> dict[str, Any]:
    """Accounts for the signed-in users, and each team's open cases and people."""
    teams = accounts["teams"][1:] or accounts["teams"]
    team_users = [{**u, "team_id": t["id"]} for t in teams for u in t["users"]][: max(users - 6, 1)]
    engine = make_engine(case_url)
    found: dict[str, Any] = {}
    with engine.connect() as conn:
        for team_id in {u["team_id"] for u in team_users}:
            cases = (
                conn.execute(
                    text(
                        "SELECT number FROM cases WHERE team_id = :t AND status != 'closed' "
                        "ORDER BY id DESC LIMIT 200"
                    ),
                    {"t": team_id},
                )
                .scalars()
                .all()
            )
            people = (
                conn.execute(
                    text(
                        "SELECT p.person_id FROM case_parties p JOIN cases c ON c.id = p.case_id "
                        "WHERE c.team_id = :t ORDER BY p.id DESC LIMIT 200"
                    ),
                    {"t": team_id},
                )
                .scalars()
                .all()
            )
            total = conn.execute(
                text("SELECT count(*) FROM cases WHERE team_id = :t"), {"t": team_id}
            ).scalar_one()
            found[str(team_id)] = {
                "cases": list(cases),
                "people": list(people),
                "pages": max(1, -(-total // 50)),
            }
        # The auditor filters by case number, as people type it.
        case_numbers = (
            conn.execute(text("SELECT number FROM cases ORDER BY id DESC LIMIT 500"))
            .scalars()
            .all()
        )
        last_steps = {
            row.id: row.mfa_last_step
            for row in conn.execute(text("SELECT id, mfa_last_step FROM users"))
        }
    engine.dispose()

    def with_step(chosen: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**a, "mfa_last_step": last_steps.get(a["id"], 0)} for a in chosen]

    return {
        "password": accounts["password"],
        "team": with_step(team_users),
        "counselors": with_step(accounts["counselors"][:2]),
        "auditors": with_step(accounts["auditors"]),
        "teams": found,
        "case_numbers": list(case_numbers),
        "schools": accounts["schools"],
    }


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def sign_in(base: str, account: dict[str, Any], password: str) -> dict[str, Any]:
    """Sign in through the real pages (password, then a TOTP code); the session's cookies
    and a CSRF token for its forms."""
    session = requests.Session()

    def token(url: str) -> str:
        match = CSRF.search(session.get(base + url, timeout=120).text)
        if match is None:
            raise SystemExit(f"load: no CSRF token on {url}")
        return unescape(match.group(1))

    # A code of a step already used is refused (no replay): an account bench/pages.py signed
    # in moments ago waits for its next code, as a person would.
    wait = (account["mfa_last_step"] + 1) * STEP_SECONDS - time.time()
    if wait > 0:
        time.sleep(wait)
    response = session.post(
        base + "/login",
        data={"csrf_token": token("/login"), "username": account["username"], "password": password},
        allow_redirects=False,
        timeout=120,
    )
    response = session.post(
        base + "/login/code",
        data={"csrf_token": token("/login/code"), "code": pyotp.TOTP(account["totp_secret"]).now()},
        allow_redirects=False,
        timeout=120,
    )
    if not response.headers.get("Location", "").endswith("/dashboard"):
        raise SystemExit(f"load: {account['username']} could not sign in")
    csrf = token("/account/")  # before the cookies: taking a token may set the session's
    return {**account, "cookies": session.cookies.get_dict(), "csrf": csrf}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    settings = load_settings()
    accounts = json.loads((Path(settings.instance) / "bench-accounts.json").read_text())
    port = free_port()
    env = {
        **os.environ,
        # The tip line's limits, raised for a load run: every tip is still counted, salted
        # and checked, and the proof of work is still asked past the hourly limit.
        "BTAM_TIPS_CLIENT_LIMIT": "100000",
        "BTAM_TIPS_HOURLY_LIMIT": "100000",
    }
    with tempfile.TemporaryDirectory(prefix="btam-load-") as folder:
        work = Path(folder)
        plan_file, counts_file = work / "plan.json", work / "counts.json"
        plan_file.write_text(json.dumps(plan(settings.database_url, accounts, args.users)))
        before = head_seq(settings.audit_database_url)
        server = subprocess.Popen(  # noqa: S603  (our own gunicorn, fixed arguments)
            [
                str(BIN / "gunicorn"),
                "--config",
                "config/gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
                    break
                except OSError:
                    time.sleep(0.2)
            base = f"http://127.0.0.1:{port}"
            signed = json.loads(plan_file.read_text())
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=2) as pool:
                for pool_name in ("team", "counselors", "auditors"):
                    signed[pool_name] = list(
                        pool.map(lambda a: sign_in(base, a, signed["password"]), signed[pool_name])
                    )
            signed_in = sum(len(signed[k]) for k in ("team", "counselors", "auditors"))
            sign_in_seconds = time.perf_counter() - started
            plan_file.write_text(json.dumps(signed))
            # A sign-in records one entry for the password and two for the code.
            sign_in_entries = 3 * signed_in
            subprocess.run(  # noqa: S603
                [
                    str(BIN / "locust"),
                    "-f",
                    str(ROOT / "bench" / "locustfile.py"),
                    "--headless",
                    "-u",
                    str(args.users),
                    "-r",
                    str(args.users),
                    "-t",
                    f"{args.seconds}s",
                    "--host",
                    f"http://127.0.0.1:{port}",
                    "--csv",
                    str(work / "load"),
                    "--only-summary",
                    "--stop-timeout",
                    "60",
                    "--loglevel",
                    "WARNING",
                ],
                cwd=ROOT,
                check=False,
                env={
                    **env,
                    "BENCH_LOAD_PLAN": str(plan_file),
                    "BENCH_LOAD_COUNTS": str(counts_file),
                },
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
        after = head_seq(settings.audit_database_url)
        counts = json.loads(counts_file.read_text())
        stats = list(csv.DictReader((work / "load_stats.csv").open()))
        failures = list(csv.DictReader((work / "load_failures.csv").open()))
    verify = subprocess.run(  # noqa: S603
        [str(BIN / "btam"), "audit", "verify"], capture_output=True, text=True, check=False
    )
    total = next(r for r in stats if r["Name"] == "Aggregated")
    server_errors = sum(
        int(f["Occurrences"])
        for f in failures
        if f["Error"].strip().startswith("5") or "50" in f["Error"]
    )
    by_name = [
        {
            "name": r["Name"],
            "requests": int(r["Request Count"]),
            "median_ms": float(r["50%"]),
            "p95_ms": float(r["95%"]),
            "failures": int(r["Failure Count"]),
        }
        for r in stats
        if r["Name"] != "Aggregated"
    ]
    result = {
        "users": args.users,
        "seconds": args.seconds,
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "server_errors": server_errors,
        "throughput": float(total["Requests/s"]),
        "median_ms": float(total["50%"]),
        "p95_ms": float(total["95%"]),
        "p99_ms": float(total["99%"]),
        "entries_added": after - before,
        "entries_counted": counts["entries"] + sign_in_entries,
        "signed_in": signed_in,
        "sign_in_seconds": sign_in_seconds,
        "actions": counts["counts"],
        "verify_ok": verify.returncode == 0,
        "verify": verify.stdout.strip().splitlines()[:1],
        "by_name": by_name,
        "failure_kinds": [
            {"error": f["Error"], "count": int(f["Occurrences"]), "name": f["Name"]}
            for f in failures
        ],
    }
    postgres = make_url(settings.database_url).get_backend_name() == "postgresql"
    store = "PostgreSQL" if postgres else "SQLite"
    print(f"load: {args.users} users for {args.seconds} s against gunicorn (2 workers, {store})")
    print(
        f"  {signed_in} accounts signed in first through the real pages (password, TOTP), "
        f"in {sign_in_seconds:.1f} s"
    )
    print(
        f"  {result['requests']:,} requests, {result['throughput']:.1f} requests/s, "
        f"median {result['median_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms, "
        f"failures {result['failures']}, 5xx {server_errors}"
    )
    for row in by_name:
        print(
            f"    {row['name']:<26}{row['requests']:>7}  median {row['median_ms']:>6.0f} ms"
            f"  p95 {row['p95_ms']:>6.0f} ms  failures {row['failures']}"
        )
    print(
        f"  audit entries added {result['entries_added']:,}, audited actions counted "
        f"{result['entries_counted']:,}: "
        f"{'equal' if result['entries_added'] == result['entries_counted'] else 'DIFFERENT'}"
    )
    print(
        f"  btam audit verify: {'passed' if result['verify_ok'] else 'FAILED'} "
        f"({' '.join(result['verify'])})"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
