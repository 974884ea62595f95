"""``make bench``: every benchmark of ``bench/`` on a fresh generated instance, into RESULTS.md.

    .venv/bin/python bench/run.py [--cases 50000] [--audit-entries N] [--runs 15]
        [--load-seconds 60] [--stores sqlite,postgresql]
    .ci/with-postgres .venv/bin/python bench/run.py ...   # what `make bench` runs

Makes a new instance in a temporary folder (``btam init``) on SQLite stores, fills it with
``bench/seed.py``, then runs the page, history-lookup and load benchmarks against it. When
``BTAM_TEST_POSTGRES_URL`` names a PostgreSQL server (``.ci/with-postgres`` starts a
throwaway one), it does the same again on two new databases of that server, one for the case
store and one for the audit store, generated alike at the same scale, and drops them after.
Then the cipher and audit benchmarks, and ``bench/RESULTS.md``: the machine, the versions,
the date, the scale, and every figure with what it is measured beside, per store. Figures
only: nothing here passes or fails on a speed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg
import targets  # bench/, beside this script
from psycopg import sql
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PYTHON = sys.executable
STORES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# Settings of the calling environment that would make the generated instance use other keys.
LEFTOVERS = (
    "BTAM_KEY_FILE",
    "BTAM_AUDIT_SIGNING_KEY_FILE",
    "BTAM_AUDIT_WITNESS",
    "BTAM_SECRET_KEY",
    "BTAM_SECRET_KEY_FILE",
)


def run(args: list[str], env: dict[str, str], label: str) -> str:
    print(f"== {label}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603  (our own scripts)
        args, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    sys.stderr.write(done.stderr[-2000:] if done.returncode else "")
    if done.returncode:
        raise SystemExit(f"bench: {label} failed ({done.returncode})")
    print(done.stdout, file=sys.stderr, end="", flush=True)
    print(f"   ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    return done.stdout + done.stderr


def machine(server: str | None) -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.1f} GiB memory"
    except (OSError, ValueError, IndexError):
        pass
    load = ""
    with contextlib.suppress(OSError):
        load = ", load average at start " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("flask", "sqlalchemy", "cryptography", "gunicorn", "locust")
    )
    lines = [
        f"- Machine: {cpu}, {os.cpu_count()} cores{memory}{load} (shared with other work)",
        f"- System: {platform.platform()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {versions}",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    ]
    if server:
        with admin(server) as conn:
            shown = {
                name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
                for name in ("server_version", "fsync", "shared_buffers", "work_mem")
            }
        lines.append(
            f"- PostgreSQL {shown['server_version']} on {make_url(server).host} (both stores on "
            f"it, one database each; fsync {shown['fsync']}, shared_buffers "
            f"{shown['shared_buffers']}, work_mem {shown['work_mem']})"
        )
    return lines


def admin(server: str) -> psycopg.Connection[Any]:
    """An autocommit connection to the server's maintenance database."""
    url = make_url(server).set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


@contextlib.contextmanager
def databases(server: str, *kinds: str) -> Iterator[dict[str, str]]:
    """New empty databases on ``server``, one per kind, as SQLAlchemy URLs; dropped after."""
    suffix = secrets.token_hex(4)
    names = {kind: f"btam_bench_{kind}_{suffix}" for kind in kinds}
    made: list[str] = []
    try:
        with admin(server) as conn:
            for name in names.values():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                made.append(name)
        yield {
            kind: make_url(server)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
            for kind, name in names.items()
        }
    finally:
        with admin(server) as conn:
            for name in made:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


@dataclass
class Measured:
    """The figures of one kind of store."""

    store: str
    seeded: str
    verified: str
    verify_seconds: float
    reconciled: str
    pages: dict[str, Any]
    history: dict[str, Any]
    history_text: str
    load: dict[str, Any] | None
    load_text: str
    seconds: float


def measure(store: str, urls: dict[str, str], work: Path, args: Any, entries: int) -> Measured:
    """A fresh instance on ``urls``' stores, generated and measured: pages, lookup, load."""
    started_all = time.perf_counter()
    name = STORES[store]
    work.mkdir()
    env = {
        **os.environ,
        "BTAM_CONFIG": "development",
        "BTAM_INSTANCE": str(work / "instance"),
        "BTAM_DATABASE_URL": urls["case"],
        "BTAM_AUDIT_DATABASE_URL": urls["audit"],
    }
    for leftover in LEFTOVERS:
        env.pop(leftover, None)
    run([str(BIN / "btam"), "init"], env, f"{name}: btam init")
    seeded = run(
        [PYTHON, "bench/seed.py", "--scale", str(args.cases), "--audit-entries", str(entries)],
        env,
        f"{name}: generate {args.cases:,} cases and at least {entries:,} audit entries",
    )
    started = time.perf_counter()
    verified = run([str(BIN / "btam"), "audit", "verify"], env, f"{name}: btam audit verify")
    verify_seconds = time.perf_counter() - started
    reconciled = run(
        [str(BIN / "btam"), "audit", "reconcile"], env, f"{name}: btam audit reconcile"
    )
    run(
        [PYTHON, "bench/pages.py", "--runs", str(args.runs), "--json", str(work / "pages.json")],
        env,
        f"{name}: pages beside bare pages",
    )
    plain = ["--plain-url", urls["plain"]] if "plain" in urls else []
    history_text = run(
        [PYTHON, "bench/history.py", "--json", str(work / "history.json"), *plain],
        env,
        f"{name}: history lookup",
    )
    load, load_text = None, ""
    if args.load_seconds:
        load_text = run(
            [
                PYTHON,
                "bench/load.py",
                "--users",
                str(args.load_users),
                "--seconds",
                str(args.load_seconds),
                "--json",
                str(work / "load.json"),
            ],
            env,
            f"{name}: load run",
        )
        load = json.loads((work / "load.json").read_text())
    return Measured(
        store=store,
        seeded=seeded,
        verified=verified,
        verify_seconds=verify_seconds,
        reconciled=reconciled,
        pages=json.loads((work / "pages.json").read_text()),
        history=json.loads((work / "history.json").read_text()),
        history_text=history_text,
        load=load,
        load_text=load_text,
        seconds=time.perf_counter() - started_all,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=int(os.environ.get("BENCH_CASES", 50_000)))
    parser.add_argument("--audit-entries", type=int, default=None)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--load-seconds", type=int, default=60, help="0: no load run")
    parser.add_argument("--load-users", type=int, default=24)
    parser.add_argument("--verify-entries", type=int, default=200_000)
    parser.add_argument(
        "--stores",
        default="sqlite,postgresql",
        help="kinds of store to measure the pages on, comma-separated; PostgreSQL only when "
        "BTAM_TEST_POSTGRES_URL names a server",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    wanted = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not wanted or any(s not in STORES for s in wanted):
        parser.error(f"--stores: choose among {', '.join(STORES)}")
    server = os.environ.get("BTAM_TEST_POSTGRES_URL") or None
    if wanted == ["postgresql"] and not server:
        parser.error(
            "--stores postgresql needs BTAM_TEST_POSTGRES_URL (run under .ci/with-postgres)"
        )
    entries = args.audit_entries or 20 * args.cases
    header = machine(server if "postgresql" in wanted else None)
    started = time.perf_counter()

    measured: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="btam-bench-") as folder:
        work = Path(folder)
        if "sqlite" in wanted:
            instance = work / "sqlite" / "instance"
            urls = {
                "case": f"sqlite:///{instance / 'btam.sqlite3'}",
                "audit": f"sqlite:///{instance / 'audit.sqlite3'}",
            }
            measured.append(measure("sqlite", urls, work / "sqlite", args, entries))
        if "postgresql" in wanted and server:
            with databases(server, "case", "audit", "plain") as urls:
                measured.append(measure("postgresql", urls, work / "postgresql", args, entries))
        # Both make their own temporary stores: no instance of the ones above.
        env = dict(os.environ)
        crypto_started = time.perf_counter()
        crypto_text = run([PYTHON, "bench/crypto.py"], env, "cipher and re-encryption")
        audit_text = run(
            [PYTHON, "bench/audit.py", "--entries", str(args.verify_entries)],
            env,
            "audit append and verify",
        )
        crypto_seconds = time.perf_counter() - crypto_started

    write(
        args,
        header,
        measured,
        "postgresql" in wanted and not server,
        crypto_text,
        audit_text,
        crypto_seconds,
        time.perf_counter() - started,
    )
    print(f"wrote {args.output}", file=sys.stderr)


PAGES_NOTE = (
    "Flask test client, signed in through the real pages (password, then TOTP); "
    "{runs} runs per page after 3 warm-ups, each full request followed by its bare twin. "
    "*Bare*: a Flask app with the same templates, filters and URL map, rendering the same "
    "template with the very context the full page rendered (already decrypted, plain data), "
    "without sign-in, policy, stores, encryption or audit."
)


def generation(m: Measured, args: Any) -> list[str]:
    generated = next((line for line in m.seeded.splitlines() if line.startswith("generated")), "")
    settled = next((line for line in m.seeded.splitlines() if line.startswith("vacuumed")), "")
    verified_count = re.search(r"intact: (\d+) entries", m.verified)
    verify_rate = int(verified_count.group(1)) / m.verify_seconds if verified_count else 0.0
    lines = [
        f"**{STORES[m.store]}.** `bench/seed.py --scale {args.cases}`: "
        f"{generated.removeprefix('generated ')}",
    ]
    if settled:
        lines += ["", f"Then {settled} (as autovacuum would have by then)."]
    return [
        *lines,
        "",
        f"`btam audit verify` on the generated trail: {m.verified.strip().splitlines()[0]} "
        f"in {m.verify_seconds:.1f} s (**{verify_rate:,.0f} entries/s**, process start "
        f"included); `btam audit reconcile`: {m.reconciled.strip().splitlines()[0]}",
        "",
    ]


def page_table(m: Measured) -> list[str]:
    t = m.pages["targets"]
    lines = [
        f"### {STORES[m.store]}",
        "",
        f"The case page shown has {t['case_notes']} notes and {t['case_parties']} people; the "
        f"person has {t['person_cases']} cases.",
        "",
        "| page | full median | full p95 | bare median | bare p95 | ratio | page size |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in m.pages["pages"]:
        lines.append(
            f"| {p['page']} | {p['full']['median_ms']:.1f} ms | {p['full']['p95_ms']:.1f} ms | "
            f"{p['bare']['median_ms']:.1f} ms | {p['bare']['p95_ms']:.1f} ms | "
            f"{p['ratio']:.1f}x | {p['bytes'] / 1024:.0f} KiB |"
        )
    return [*lines, ""]


def block(title: str, text: str) -> list[str]:
    return [title, "", "```", text.strip(), "```", ""]


def write(
    args: Any,
    header: list[str],
    measured: list[Measured],
    no_server: bool,
    crypto_text: str,
    audit_text: str,
    crypto_seconds: float,
    total_seconds: float,
) -> None:
    t = measured[0].pages["targets"]
    kinds = " and ".join(STORES[m.store] for m in measured)
    durations = ", ".join(
        f"{STORES[m.store]} {m.seconds / 60:.1f} min (generation included)" for m in measured
    )
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`bench/run.py`); every figure below comes from that one run.",
        "Pages, lookups and the load are measured on a freshly generated instance "
        f"(`bench/seed.py`), per kind of store ({kinds}), this machine:",
        "",
        *header,
        f"- Scale: **{t['all_cases']:,} cases** (`make bench BENCH_CASES={args.cases}`); "
        f"the team lead's team holds {t['team_cases']:,} of them",
        f"- Run time: {total_seconds / 60:.1f} min in all: {durations}, cipher and audit "
        f"benchmarks {crypto_seconds / 60:.1f} min",
    ]
    if no_server:
        lines.append(
            "- PostgreSQL: not measured, no server (`make bench` starts one with "
            "`.ci/with-postgres` when PostgreSQL's server binaries are installed)"
        )
    lines += ["", *targets.section(measured, crypto_text, audit_text), "## Generation", ""]
    for m in measured:
        lines += generation(m, args)
    lines += [
        "## Pages: full stack beside a bare page",
        "",
        PAGES_NOTE.format(runs=args.runs),
        "",
    ]
    for m in measured:
        lines += page_table(m)
    lines += ["## History lookup: blind index beside a plain indexed column", ""]
    for m in measured:
        lines += block(f"### {STORES[m.store]}", m.history_text)
    if any(m.load for m in measured):
        lines += ["## Load: gunicorn, two workers, locust", ""]
        for m in measured:
            if m.load:
                lines += block(f"### {STORES[m.store]}", m.load_text)
    lines += [
        *block("## Field cipher and re-encryption (`bench/crypto.py`)", crypto_text),
        *block(f"## Audit chain (`bench/audit.py --entries {args.verify_entries}`)", audit_text),
    ]
    args.output.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
