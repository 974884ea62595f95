"""The tip line cannot be shut from outside, and its limits keep nothing that leads back to an
address once their window has passed.

- one IPv6 /64 is one client (a phone or a home picks any address in its /64);
- past the hourly limit the line keeps taking tips, each after a proof of work that the
  tipster's browser does (``static/js/tip-proof.js``; here the test solves it), so a tip
  about a weapon still gets through during a flood; a proof buys one tip only;
- the first tip over the limit alerts the district administrator: a banner on /admin/ with
  the count, and one audit entry a window;
- a client's key is HMAC(salt of the window, address); the salt is deleted with its window
  (by a request at most a minute later, or ``btam maintenance prune``).

The apps here have an hourly limit of 3 (``tips_hourly_limit``) and the testing proof's
difficulty, so that a flood takes four tips and a proof a blink.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from btam import create_app, housekeeping
from btam.cli import cli
from btam.db import utcnow
from btam.intake.models import RateLimitEvent, RateLimitSalt, SpentProof
from btam.security import proof_of_work
from tests.support.intake import CODE, report_count, tip_form, visitor
from tests.support.personas import World, build_world
from tests.support.stores import age_rate_limits, audit_entries
from tests.support.web import signed_in

HOURLY = 3
CHALLENGE = re.compile(r'name="proof_challenge" type="hidden" value="([^"]+)"')
FLOODED = "intake:tip_line:flooded"


@pytest.fixture
def small_app(overrides: dict[str, object]) -> Iterator[Flask]:
    application = create_app({**overrides, "tips_hourly_limit": HOURLY})
    yield application
    application.extensions["btam"].stores.dispose()


@pytest.fixture
def small_world(small_app: Flask) -> World:
    return build_world(small_app)


def flood(app: Flask, world: World) -> None:
    """As many tips as the hour allows, each from its own address."""
    for n in range(HOURLY):
        response = visitor(app, f"198.51.100.{n + 1}").client.post("/tip", data=tip_form(world))
        assert response.status_code == 200 and CODE.search(response.get_data(as_text=True))


def challenge_of(html: str) -> str:
    found = CHALLENGE.search(html)
    assert found, "the form carries no proof-of-work challenge"
    return unescape(found.group(1))


def with_proof(form: dict[str, object], challenge: str) -> dict[str, object]:
    bits = int(challenge.split(".")[1])
    return {
        **form,
        "proof_challenge": challenge,
        "proof_answer": proof_of_work.solve(challenge, bits),
    }


def rows(app: Flask, model: type) -> int:
    with app.extensions["btam"].stores.case_sessions() as db:
        return int(db.execute(select(func.count()).select_from(model)).scalar_one())


# --------------------------------------------------------------------------- clients


def test_one_ipv6_slash_64_is_one_client(app: Flask, world: World) -> None:
    """Five tips from five addresses of one /64 use up that /64's hour; the next /64 is free."""
    for n in range(5):
        sent = visitor(app, f"2001:db8:17:4::{n + 1:x}").client.post("/tip", data=tip_form(world))
        assert sent.status_code == 200
    sixth = visitor(app, "2001:db8:17:4:ffff:1:2:3").client.post("/tip", data=tip_form(world))
    assert sixth.status_code == 429
    assert report_count(app) == 5
    neighbour = visitor(app, "2001:db8:17:5::1").client.post("/tip", data=tip_form(world))
    assert neighbour.status_code == 200
    # An IPv4 address written as IPv6 is the same client as the IPv4 address.
    for _ in range(5):
        visitor(app, "203.0.113.9").client.post("/tip", data=tip_form(world))
    mapped = visitor(app, "::ffff:203.0.113.9").client.post("/tip", data=tip_form(world))
    assert mapped.status_code == 429


# --------------------------------------------------------------------------- the flood


def test_past_the_hourly_limit_a_weapon_tip_still_gets_through_after_a_proof_of_work(
    small_app: Flask, small_world: World
) -> None:
    flood(small_app, small_world)
    tipster = visitor(small_app, "192.0.2.44")
    # The form itself now carries a challenge and the script that solves it.
    page = tipster.get("/tip").get_data(as_text=True)
    assert 'src="/static/js/tip-proof.js"' in page and "Many tips are arriving" in page
    challenge_of(page)
    # Sent without a proof: held back, not refused, and nothing of it kept.
    weapon = tip_form(small_world, category="weapon", what="He has a gun in his locker, 214.")
    held = tipster.client.post("/tip", data=weapon)
    assert held.status_code == 200
    html = held.get_data(as_text=True)
    assert "has not been sent yet" in html and "data-proof-send" in html
    assert "He has a gun in his locker, 214." in html  # what was typed is still there
    assert report_count(small_app) == HOURLY
    # With the browser's answer, it is taken.
    sent = tipster.client.post("/tip", data=with_proof(weapon, challenge_of(html)))
    assert sent.status_code == 200 and CODE.search(sent.get_data(as_text=True))
    assert report_count(small_app) == HOURLY + 1
    received = audit_entries(small_app, "intake:tip:received")[-1]
    assert received.purpose == "weapon"


def test_a_proof_buys_one_tip_and_a_forged_or_stale_one_none(
    small_app: Flask, small_world: World
) -> None:
    flood(small_app, small_world)
    tipster = visitor(small_app, "192.0.2.45")
    challenge = challenge_of(tipster.get("/tip").get_data(as_text=True))
    paid = with_proof(tip_form(small_world), challenge)
    assert CODE.search(tipster.client.post("/tip", data=paid).get_data(as_text=True))
    again = visitor(small_app, "192.0.2.46").client.post("/tip", data=paid)
    assert "has not been sent yet" in again.get_data(as_text=True)
    issued, bits, nonce, mac = challenge_of(again.get_data(as_text=True)).split(".")
    forged = f"{issued}.{bits}.{'0' * len(nonce)}.{mac}"
    refused = visitor(small_app, "192.0.2.47").client.post(
        "/tip", data=with_proof(tip_form(small_world), forged)
    )
    assert "has not been sent yet" in refused.get_data(as_text=True)
    assert report_count(small_app) == HOURLY + 1
    assert rows(small_app, SpentProof) == 1


def test_a_flood_alerts_the_district_administrator_once_a_window(
    small_app: Flask, small_world: World
) -> None:
    fay = signed_in(small_app, small_world, "admin_fay")
    assert 'id="tip-flood"' not in fay.get("/admin/").get_data(as_text=True)
    flood(small_app, small_world)
    for n in range(3):
        visitor(small_app, f"192.0.2.{60 + n}").client.post("/tip", data=tip_form(small_world))
    [alert] = audit_entries(small_app, FLOODED)
    assert alert.actor_role == "anonymous" and alert.client_address is None
    assert (
        alert.object_type == "tip_line"
        and alert.purpose == f"more than {HOURLY} tips within the hour"
    )
    admin = fay.get("/admin/").get_data(as_text=True)
    assert 'id="tip-flood"' in admin
    assert f"{HOURLY} tips within the hour, over its limit of {HOURLY}" in admin
    # Tips taken with a proof are counted too.
    tipster = visitor(small_app, "192.0.2.70")
    challenge = challenge_of(tipster.get("/tip").get_data(as_text=True))
    tipster.client.post("/tip", data=with_proof(tip_form(small_world), challenge))
    assert f"{HOURLY + 1} tips within the hour" in fay.get("/admin/").get_data(as_text=True)
    assert len(audit_entries(small_app, FLOODED)) == 1
    # The next hour the line is open again and the banner gone; a new flood alerts again.
    age_rate_limits(small_app, timedelta(hours=1, minutes=1))
    assert 'id="tip-flood"' not in fay.get("/admin/").get_data(as_text=True)
    assert "Many tips" not in visitor(small_app).get("/tip").get_data(as_text=True)
    flood(small_app, small_world)
    visitor(small_app, "192.0.2.80").client.post("/tip", data=tip_form(small_world))
    assert len(audit_entries(small_app, FLOODED)) == 2


def test_other_roles_see_no_flood_banner(small_app: Flask, small_world: World) -> None:
    flood(small_app, small_world)
    visitor(small_app, "192.0.2.90").client.post("/tip", data=tip_form(small_world))
    for who in ("lead_ben", "teacher_cam", "auditor_eve"):
        home = signed_in(small_app, small_world, who).get("/dashboard").get_data(as_text=True)
        assert 'id="tip-flood"' not in home, who


# --------------------------------------------------------------------------- salts


def stored_keys(app: Flask) -> list[tuple[str, str]]:
    with app.extensions["btam"].stores.case_sessions() as db:
        return [(e.scope, e.key_hash) for e in db.execute(select(RateLimitEvent)).scalars()]


def salts(app: Flask) -> dict[str, bytes]:
    with app.extensions["btam"].stores.case_sessions() as db:
        return {s.scope: s.salt for s in db.execute(select(RateLimitSalt)).scalars()}


def test_a_clients_key_is_salted_per_window_and_not_derived_from_the_secret_key(
    app: Flask, world: World, overrides: dict[str, object]
) -> None:
    address = "203.0.113.51"
    visitor(app, address).client.post("/tip", data=tip_form(world))
    [client_key] = [key for scope, key in stored_keys(app) if scope == "tip-client"]
    salt = salts(app)["tip-client"]
    assert len(salt) == 32
    message = f"tip-client\x00{address}".encode()
    assert client_key == hmac.new(salt, message, hashlib.sha256).hexdigest()
    secret = str(overrides["secret_key"]).encode()
    assert client_key != hmac.new(secret, message, hashlib.sha256).hexdigest()
    # A new window has a new salt: the same address gets another key.
    age_rate_limits(app, timedelta(hours=1, minutes=1))
    visitor(app, address).client.post("/tip", data=tip_form(world))
    assert salts(app)["tip-client"] != salt


def test_no_salt_or_count_outlives_its_window_once_any_request_comes(
    app: Flask, world: World, overrides: dict[str, object]
) -> None:
    visitor(app, "203.0.113.52").client.post("/tip", data=tip_form(world))
    visitor(app, "203.0.113.53").client.post("/tip/follow-up", data={"code": "WRONG-CODE"})
    assert {"tip-client", "tip-all", "tipcode-client"} <= set(salts(app))
    assert rows(app, RateLimitEvent) >= 3
    # The tip window (an hour) has passed: another worker's first request prunes.
    age_rate_limits(app, timedelta(hours=1, minutes=1))
    worker = create_app(overrides)
    try:
        assert worker.test_client().get("/login").status_code == 200
    finally:
        worker.extensions["btam"].stores.dispose()
    assert salts(app) == {} and rows(app, RateLimitEvent) == 0


def test_the_maintenance_command_prunes_what_has_expired_and_keeps_the_rest(
    app: Flask, world: World, overrides: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    visitor(app, "203.0.113.54").client.post("/tip/follow-up", data={"code": "WRONG-CODE"})
    age_rate_limits(app, timedelta(minutes=16))  # the code window (15 minutes) has passed
    visitor(app, "203.0.113.55").client.post("/tip", data=tip_form(world))  # a live hour
    for name, value in {
        "BTAM_INSTANCE": overrides["instance"],
        "BTAM_DATABASE_URL": overrides["database_url"],
        "BTAM_AUDIT_DATABASE_URL": overrides["audit_database_url"],
        "BTAM_SECRET_KEY": overrides["secret_key"],
    }.items():
        monkeypatch.setenv(name, str(value))
    result = CliRunner().invoke(cli, ["maintenance", "prune"])
    assert result.exit_code == 0, result.output
    assert "pruned: 1 salts, 1 events" in result.output
    assert set(salts(app)) == {"tip-client", "tip-all"}


def test_the_pruning_timer_runs_at_most_once_a_minute_across_workers(app: Flask) -> None:
    sessions = app.extensions["btam"].stores.case_write_sessions
    now = utcnow()
    # Whatever the requests of the fixture did, a minute on the timer is free.
    first = housekeeping.prune_if_due(sessions, now=now + timedelta(minutes=2))
    assert first is not None
    assert housekeeping.prune_if_due(sessions, now=now + timedelta(minutes=2, seconds=59)) is None
    assert housekeeping.prune_if_due(sessions, now=now + timedelta(minutes=3)) is not None
