"""Pages through the whole stack, each beside a bare Flask page rendering the same template.

    BTAM_INSTANCE=... .venv/bin/python bench/pages.py [--runs 40] [--json out.json]

Runs against an instance filled by ``bench/seed.py``. Each user signs in through the real
pages (password, then a TOTP code: the second factor done as a person does it), then every
page is requested through Flask's test client: default deny, session check on the server,
policy, decryption, the audit append (witness line fsync'd), the template and the security
headers.

The baseline of each page is measured in the same run, interleaved request by request: a
bare Flask app (no login, no policy, no store, no audit, no encryption) with the same
template folder and filters, whose one view renders the same template with the very context
the full page rendered (captured from Flask's ``template_rendered`` signal): the same amount
of plain, already-decrypted data. The ratio full / bare is what the security layers and the
stores cost on top of rendering the page.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyotp
from flask import Flask, g, render_template, template_rendered
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.local import LocalProxy

from btam import create_app

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    if match is None:
        raise SystemExit("pages: the sign-in page has no CSRF token")
    return unescape(match.group(1))


def sign_in(app: Flask, username: str, password: str, secret: str | None) -> FlaskClient:
    """A client signed in through the real pages, the second factor included."""
    client = app.test_client()
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "username": username,
            "password": password,
        },
    )
    if "/login/code" in response.headers.get("Location", ""):
        if secret is None:
            raise SystemExit(f"pages: {username} needs a second factor")
        page = client.get("/login/code")
        response = client.post(
            "/login/code",
            data={
                "csrf_token": csrf_token(page.get_data(as_text=True)),
                "code": pyotp.TOTP(secret).now(),
            },
        )
    if not response.headers.get("Location", "").endswith("/dashboard"):
        raise SystemExit(f"pages: {username} could not sign in ({response.status_code})")
    return client


def bare_app(app: Flask, time_zone: str) -> Flask:
    """A Flask app with the real one's templates, filters and URLs, and nothing else."""
    bare = Flask(
        "bare",
        template_folder=os.path.join(app.root_path, app.template_folder or "templates"),
        static_folder=None,
    )
    bare.secret_key = app.secret_key
    bare.config["WTF_CSRF_ENABLED"] = False
    bare.jinja_env.filters.update(app.jinja_env.filters)
    bare.jinja_env.tests.update(app.jinja_env.tests)
    bare.jinja_env.globals.update(
        {
            k: v
            for k, v in app.jinja_env.globals.items()
            if k not in ("url_for", "get_flashed_messages")
        }
    )
    zone = ZoneInfo(time_zone)

    def noop(**_kwargs: Any) -> str:
        return ""

    for rule in app.url_map.iter_rules():
        if rule.endpoint not in bare.view_functions:
            bare.add_url_rule(rule.rule, endpoint=rule.endpoint, view_func=noop)

    @bare.before_request
    def _zone() -> None:
        g.district_zone = zone

    bare.extensions["bench.pages"] = {}

    def render(name: str) -> str:
        template, context = bare.extensions["bench.pages"][name]
        return render_template(template, **context)

    bare.add_url_rule("/bare/<name>", endpoint="bench_bare", view_func=render)
    return bare


PLUMBING = {"request", "session", "g", "config", "csrf_token", "get_flashed_messages", "url_for"}


def capture(app: Flask, client: FlaskClient, url: str) -> tuple[str, dict[str, Any], int]:
    """The template and context the full page renders, resolved to plain values."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(_sender: Any, template: Any, context: dict[str, Any], **_extra: Any) -> None:
        values = {}
        for key, value in context.items():
            if key in PLUMBING:
                continue
            if isinstance(value, LocalProxy):
                value = value._get_current_object()
            values[key] = value
        seen.append((template.name, values))

    template_rendered.connect(record, app)
    try:
        response = client.get(url)
    finally:
        template_rendered.disconnect(record, app)
    if response.status_code != 200 or not seen:
        raise SystemExit(f"pages: {url} answered {response.status_code}")
    name, context = seen[-1]
    return name, context, len(response.get_data())


def figures(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": statistics.median(ordered) * 1e3, "p95_ms": p95 * 1e3}


def measure(
    full: Callable[[], Any], bare: Callable[[], Any], runs: int, warmup: int
) -> tuple[list[float], list[float]]:
    for _ in range(warmup):
        full()
        bare()
    full_times, bare_times = [], []
    # Interleaved, so a slow moment of the machine weighs on both alike.
    for _ in range(runs):
        started = time.perf_counter()
        response = full()
        full_times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"pages: a full page answered {response.status_code}")
        started = time.perf_counter()
        bare()
        bare_times.append(time.perf_counter() - started)
    return full_times, bare_times


def targets(app: Flask, team_id: int) -> dict[str, Any]:
    """A busy case of the team, a subject with several cases, and the case list's depth."""
    engine = app.extensions["btam"].stores.case_engine
    with engine.connect() as conn:
        case_id, number, notes = conn.execute(
            text(
                "SELECT c.id, c.number, count(n.id) FROM cases c JOIN notes n ON n.case_id = c.id "
                "WHERE c.team_id = :t GROUP BY c.id ORDER BY count(n.id) DESC, c.id LIMIT 1"
            ),
            {"t": team_id},
        ).one()
        person_id, person_cases = conn.execute(
            text(
                "SELECT p.person_id, count(*) FROM case_parties p JOIN cases c ON c.id = p.case_id "
                "WHERE c.team_id = :t AND p.part = 'subject' GROUP BY p.person_id "
                "ORDER BY count(*) DESC, p.person_id LIMIT 1"
            ),
            {"t": team_id},
        ).one()
        team_cases = conn.execute(
            text("SELECT count(*) FROM cases WHERE team_id = :t"), {"t": team_id}
        ).scalar_one()
        all_cases = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
        parties = conn.execute(
            text("SELECT count(*) FROM case_parties WHERE case_id = :c"), {"c": case_id}
        ).scalar_one()
        zone = conn.execute(text("SELECT time_zone FROM districts LIMIT 1")).scalar_one()
    return {
        "case_id": case_id,
        "case_number": number,
        "case_notes": notes,
        "case_parties": parties,
        "person_id": person_id,
        "person_cases": person_cases,
        "team_cases": team_cases,
        "all_cases": all_cases,
        "time_zone": zone,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = parser.parse_args()

    app = create_app()
    instance = Path(app.extensions["btam"].settings.instance)
    accounts = json.loads((instance / "bench-accounts.json").read_text())
    team = accounts["teams"][0]
    lead = team["users"][0]
    auditor = accounts["auditors"][0]
    found = targets(app, team["id"])
    lead_client = sign_in(app, lead["username"], accounts["password"], lead["totp_secret"])
    auditor_client = sign_in(app, auditor["username"], accounts["password"], auditor["totp_secret"])
    deep = max(1, found["team_cases"] // 50)
    pages = [
        ("case page", lead_client, f"/cases/{found['case_number']}"),
        ("triage queue", lead_client, "/triage/"),
        ("case list, first page", lead_client, "/cases/"),
        (f"case list, page {deep}", lead_client, f"/cases/?page={deep}"),
        ("home page", lead_client, "/dashboard"),
        ("person history", lead_client, f"/people/{found['person_id']}"),
        ("audit trail, one case", auditor_client, f"/audit/?case_number={found['case_number']}"),
    ]
    bare = bare_app(app, found["time_zone"])
    bare_client = bare.test_client()
    results = []
    print(
        f"pages at {found['all_cases']:,} cases (team lead's team: {found['team_cases']:,}; "
        f"case page: {found['case_notes']} notes, {found['case_parties']} people; person: "
        f"{found['person_cases']} cases), {args.runs} runs each, interleaved with the bare page"
    )
    print(f"{'page':<26}{'full median':>12}{'p95':>9}{'bare median':>13}{'p95':>9}{'ratio':>8}")
    for index, (label, client, url) in enumerate(pages):
        template, context, size = capture(app, client, url)
        key = f"p{index}"
        bare.extensions["bench.pages"][key] = (template, context)
        full_t, bare_t = measure(
            lambda client=client, url=url: client.get(url),
            lambda key=key: bare_client.get(f"/bare/{key}"),
            args.runs,
            args.warmup,
        )
        full, base = figures(full_t), figures(bare_t)
        ratio = full["median_ms"] / base["median_ms"]
        results.append(
            {
                "page": label,
                "url": url,
                "template": template,
                "bytes": size,
                "full": full,
                "bare": base,
                "ratio": ratio,
            }
        )
        print(
            f"{label:<26}{full['median_ms']:>9.1f} ms{full['p95_ms']:>6.1f} ms"
            f"{base['median_ms']:>10.1f} ms{base['p95_ms']:>6.1f} ms{ratio:>7.1f}x"
        )
    if args.json:
        args.json.write_text(json.dumps({"targets": found, "pages": results}, indent=2))
    app.extensions["btam"].stores.dispose()


if __name__ == "__main__":
    main()
