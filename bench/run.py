"""``make bench``: every benchmark of ``bench/`` on a fresh generated instance, into RESULTS.md.

    .venv/bin/python bench/run.py [--cases 50000] [--audit-entries N] [--runs 15]
        [--load-seconds 60]

Makes a new instance in a temporary folder (``btam init``), fills it with ``bench/seed.py``,
then runs the page, history-lookup, load, cipher and audit benchmarks against it and writes
``bench/RESULTS.md``: the machine, the versions, the date, the scale, and every figure with
what it is measured beside. Figures only: nothing here passes or fails on a speed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PYTHON = sys.executable


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


def machine() -> list[str]:
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
    return [
        f"- Machine: {cpu}, {os.cpu_count()} cores{memory}{load} (shared with other work)",
        f"- System: {platform.platform()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {versions}",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=int(os.environ.get("BENCH_CASES", 50_000)))
    parser.add_argument("--audit-entries", type=int, default=None)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--load-seconds", type=int, default=60)
    parser.add_argument("--load-users", type=int, default=24)
    parser.add_argument("--verify-entries", type=int, default=200_000)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    entries = args.audit_entries or 20 * args.cases
    header = machine()

    with tempfile.TemporaryDirectory(prefix="btam-bench-") as folder:
        work = Path(folder)
        env = {
            **os.environ,
            "BTAM_CONFIG": "development",
            "BTAM_INSTANCE": str(work / "instance"),
            "BTAM_DATABASE_URL": f"sqlite:///{work / 'instance' / 'btam.sqlite3'}",
            "BTAM_AUDIT_DATABASE_URL": f"sqlite:///{work / 'instance' / 'audit.sqlite3'}",
        }
        for leftover in (
            "BTAM_KEY_FILE",
            "BTAM_AUDIT_SIGNING_KEY_FILE",
            "BTAM_AUDIT_WITNESS",
            "BTAM_SECRET_KEY",
            "BTAM_SECRET_KEY_FILE",
        ):
            env.pop(leftover, None)
        run([str(BIN / "btam"), "init"], env, "btam init")
        seeded = run(
            [PYTHON, "bench/seed.py", "--scale", str(args.cases), "--audit-entries", str(entries)],
            env,
            f"generate {args.cases:,} cases and about {entries:,} audit entries",
        )
        started = time.perf_counter()
        verified = run([str(BIN / "btam"), "audit", "verify"], env, "btam audit verify")
        verify_seconds = time.perf_counter() - started
        reconciled = run([str(BIN / "btam"), "audit", "reconcile"], env, "btam audit reconcile")
        pages_text = run(
            [
                PYTHON,
                "bench/pages.py",
                "--runs",
                str(args.runs),
                "--json",
                str(work / "pages.json"),
            ],
            env,
            "pages beside bare pages",
        )
        history_text = run(
            [PYTHON, "bench/history.py", "--json", str(work / "history.json")],
            env,
            "history lookup",
        )
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
            "load run",
        )
        crypto_text = run([PYTHON, "bench/crypto.py"], env, "cipher and re-encryption")
        audit_text = run(
            [PYTHON, "bench/audit.py", "--entries", str(args.verify_entries)],
            env,
            "audit append and verify",
        )
        pages = json.loads((work / "pages.json").read_text())
        history = json.loads((work / "history.json").read_text())
        load = json.loads((work / "load.json").read_text())

    write(
        args,
        header,
        seeded,
        verified,
        verify_seconds,
        reconciled,
        pages,
        pages_text,
        history,
        history_text,
        load,
        load_text,
        crypto_text,
        audit_text,
    )
    print(f"wrote {args.output}", file=sys.stderr)


def write(
    args: Any,
    header: list[str],
    seeded: str,
    verified: str,
    verify_seconds: float,
    reconciled: str,
    pages: dict[str, Any],
    pages_text: str,
    history: dict[str, Any],
    history_text: str,
    load: dict[str, Any],
    load_text: str,
    crypto_text: str,
    audit_text: str,
) -> None:
    generated = next((line for line in seeded.splitlines() if line.startswith("generated")), "")
    verified_count = re.search(r"intact: (\d+) entries", verified)
    verify_rate = int(verified_count.group(1)) / verify_seconds if verified_count else 0.0
    t = pages["targets"]
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`bench/run.py`); every figure below comes from that one run.",
        "Pages, lookups and the load are measured on a freshly generated instance "
        "(`bench/seed.py`), SQLite stores, this machine:",
        "",
        *header,
        f"- Scale: **{t['all_cases']:,} cases** (`make bench BENCH_CASES={args.cases}`); "
        f"the team lead's team holds {t['team_cases']:,} of them",
        "",
        "## Generation",
        "",
        f"`bench/seed.py --scale {args.cases}`: {generated.removeprefix('generated ')}",
        "",
        f"`btam audit verify` on the generated trail: {verified.strip().splitlines()[0]} "
        f"in {verify_seconds:.1f} s (**{verify_rate:,.0f} entries/s**, process start included); "
        f"`btam audit reconcile`: {reconciled.strip().splitlines()[0]}",
        "",
        "## Pages: full stack beside a bare page",
        "",
        f"Flask test client, signed in through the real pages (password, then TOTP); "
        f"{args.runs} runs per page after 3 warm-ups, each full request followed by its bare "
        "twin. *Bare*: a Flask app with the same templates, filters and URL map, rendering "
        "the same template with the very context the full page rendered (already decrypted, "
        "plain data), without sign-in, policy, stores, encryption or audit. The case page "
        f"shown has {t['case_notes']} notes and {t['case_parties']} people; the person has "
        f"{t['person_cases']} cases.",
        "",
        "| page | full median | full p95 | bare median | bare p95 | ratio | page size |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in pages["pages"]:
        lines.append(
            f"| {p['page']} | {p['full']['median_ms']:.1f} ms | {p['full']['p95_ms']:.1f} ms | "
            f"{p['bare']['median_ms']:.1f} ms | {p['bare']['p95_ms']:.1f} ms | "
            f"{p['ratio']:.1f}x | {p['bytes'] / 1024:.0f} KiB |"
        )
    lines += [
        "",
        "## History lookup: blind index beside a plain indexed column",
        "",
        "```",
        history_text.strip(),
        "```",
        "",
        "## Load: gunicorn, two workers, SQLite, locust",
        "",
        "```",
        load_text.strip(),
        "```",
        "",
        "## Field cipher and re-encryption (`bench/crypto.py`)",
        "",
        "```",
        crypto_text.strip(),
        "```",
        "",
        f"## Audit chain (`bench/audit.py --entries {args.verify_entries}`)",
        "",
        "```",
        audit_text.strip(),
        "```",
        "",
    ]
    args.output.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
