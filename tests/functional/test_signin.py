"""Signing in and out: passwords, the second factor, throttling, sessions and their end."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
from flask import Flask
from sqlalchemy import event, select, text

from btam import create_app
from btam.accounts.models import SigninStepToken, UserSession
from btam.accounts.services import users
from btam.context import carry_out
from btam.db import make_engine
from btam.security.passwords import PasswordHashing
from tests.support.personas import World, build_world, system_ctx
from tests.support.stores import (
    age_failures,
    age_sessions,
    audit_actions,
    audit_entries,
    live_sessions,
)
from tests.support.web import Browser, csrf_token, next_code, signed_in

GENERIC = "The user name or password is not right"


def test_staff_signs_in_with_a_password_alone(browser: Browser, world: World) -> None:
    cam = world.teacher_cam
    response = browser.sign_in(cam.username, cam.password, totp_secret=None)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")
    page = browser.get("/dashboard").get_data(as_text=True)
    assert "Cam Teacher" in page
    assert "auth:login:success" in audit_actions(browser.client.application)


def test_a_team_lead_needs_the_second_factor_before_any_page(
    browser: Browser, world: World
) -> None:
    ben = world.lead_ben
    response = browser.submit("/login", {"username": ben.username, "password": ben.password})
    assert response.headers["Location"].endswith("/login/code")
    # Password alone opens nothing.
    assert browser.get("/dashboard").status_code == 302
    response = browser.submit("/login/code", {"code": next_code(ben.totp_secret or "")})
    assert response.headers["Location"].endswith("/dashboard")
    assert browser.get("/dashboard").status_code == 200


@pytest.mark.parametrize("case", ["wrong password", "unknown user", "disabled user"])
def test_every_failed_sign_in_looks_the_same(
    app: Flask, browser: Browser, world: World, case: str
) -> None:
    if case == "disabled user":
        ctx = system_ctx(app)
        carry_out(ctx, users.set_user_active(ctx, user_id=world.member_gus.user_id, active=False))
        ctx.db.close()
    username, password = {
        "wrong password": ("member_gus", "not the right password at all"),
        "unknown user": ("nobody_here", "not the right password at all"),
        "disabled user": ("member_gus", world.member_gus.password),
    }[case]
    response = browser.submit("/login", {"username": username, "password": password})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert GENERIC in page
    assert "auth:login:failure" in audit_actions(app)


def test_the_typed_user_name_never_reaches_the_audit_trail(
    app: Flask, browser: Browser, world: World
) -> None:
    browser.submit("/login", {"username": "my secret passphrase typed here", "password": "x" * 20})
    for entry in audit_entries(app, "auth:login:failure"):
        assert "passphrase" not in repr(vars(entry))


def test_five_failures_lock_the_account_even_for_the_right_password(
    app: Flask, browser: Browser, world: World
) -> None:
    gus = world.member_gus
    for _ in range(5):
        browser.submit("/login", {"username": gus.username, "password": "wrong password here!"})
    locked = browser.submit("/login", {"username": gus.username, "password": gus.password})
    assert locked.status_code == 429
    assert "Too many attempts" in locked.get_data(as_text=True)
    assert "auth:login:locked" in audit_actions(app)
    # The lock lifts after the lockout period (here: the failures are moved back 16 minutes).
    age_failures(app, timedelta(minutes=16))
    response = browser.sign_in(gus.username, gus.password, totp_secret=gus.totp_secret)
    assert response.headers["Location"].endswith("/dashboard")


def test_a_lockout_of_an_unknown_name_looks_like_any_other(browser: Browser, world: World) -> None:
    for _ in range(5):
        browser.submit("/login", {"username": "ghost", "password": "wrong password here!"})
    assert browser.submit("/login", {"username": "ghost", "password": "x" * 20}).status_code == 429


def test_many_failures_from_one_address_lock_that_address_only(app: Flask, world: World) -> None:
    attacker = Browser(app.test_client())
    attacker.client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    for n in range(20):
        attacker.submit("/login", {"username": f"guess{n}", "password": "wrong password here!"})
    ben = world.lead_ben
    blocked = attacker.submit("/login", {"username": ben.username, "password": ben.password})
    assert blocked.status_code == 429
    colleague = Browser(app.test_client())
    colleague.client.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    response = colleague.sign_in(ben.username, ben.password, totp_secret=ben.totp_secret)
    assert response.headers["Location"].endswith("/dashboard")


def test_the_lockout_holds_across_workers(
    app: Flask, overrides: dict[str, object], world: World
) -> None:
    """A second app on the same stores stands for another gunicorn worker or host."""
    other_worker = create_app(overrides)
    try:
        gus = world.member_gus
        for index in range(5):
            worker = app if index % 2 else other_worker
            Browser(worker.test_client()).submit(
                "/login", {"username": gus.username, "password": "wrong password here!"}
            )
        for worker in (app, other_worker):
            response = Browser(worker.test_client()).submit(
                "/login", {"username": gus.username, "password": gus.password}
            )
            assert response.status_code == 429
    finally:
        other_worker.extensions["btam"].stores.dispose()


def test_wrong_codes_count_towards_the_lockout(browser: Browser, world: World) -> None:
    ben = world.lead_ben
    browser.submit("/login", {"username": ben.username, "password": ben.password})
    for _ in range(4):
        response = browser.submit("/login/code", {"code": "000000"})
        assert "That code is not right" in response.get_data(as_text=True)
    response = browser.submit("/login/code", {"code": "000000"})
    assert response.status_code == 429


def test_a_used_code_cannot_be_replayed(
    browser: Browser, other_browser: Browser, world: World
) -> None:
    ben = world.lead_ben
    code = next_code(ben.totp_secret or "")
    browser.submit("/login", {"username": ben.username, "password": ben.password})
    assert browser.submit("/login/code", {"code": code}).status_code == 302
    other_browser.submit("/login", {"username": ben.username, "password": ben.password})
    replay = other_browser.submit("/login/code", {"code": code})
    assert replay.status_code == 200
    assert "That code is not right" in replay.get_data(as_text=True)


def test_a_recovery_code_signs_in_once(app: Flask, world: World) -> None:
    ctx = system_ctx(app)
    carry_out(ctx, users.reset_mfa(ctx, user_id=world.member_gus.user_id))
    ctx.db.close()
    gus = world.member_gus
    browser = Browser(app.test_client())
    browser.submit("/login", {"username": gus.username, "password": gus.password})
    page = browser.get("/login/setup").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    shown = browser.submit("/login/setup", {"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<li><code>([a-z2-7-]{19})</code></li>", shown.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    browser.client.post(
        "/login/finish", data={"csrf_token": csrf_token(shown.get_data(as_text=True))}
    )
    first = Browser(app.test_client())
    first.submit("/login", {"username": gus.username, "password": gus.password})
    assert first.submit("/login/code", {"code": codes[0].upper()}).status_code == 302
    again = Browser(app.test_client())
    again.submit("/login", {"username": gus.username, "password": gus.password})
    assert again.submit("/login/code", {"code": codes[0]}).status_code == 200
    assert "auth:recovery_code:used" in audit_actions(app)


def test_a_role_that_sees_cases_must_enrol_at_first_sign_in(app: Flask, world: World) -> None:
    ctx = system_ctx(app)
    carry_out(ctx, users.reset_mfa(ctx, user_id=world.officer_hal.user_id))
    ctx.db.close()
    hal = world.officer_hal
    before = {
        e.seq for a in ("started", "viewed") for e in audit_entries(app, f"auth:mfa_setup:{a}")
    }
    browser = Browser(app.test_client())
    response = browser.submit("/login", {"username": hal.username, "password": hal.password})
    assert response.headers["Location"].endswith("/login/setup")
    page = browser.get("/login/setup").get_data(as_text=True)
    assert "<svg" in page and "QR code" in page
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    again = browser.get("/login/setup").get_data(as_text=True)
    assert secret in again.replace(" ", "")  # the same secret, however often it is shown
    # Each showing of the secret is on the trail under the user, and the secret is not.
    [started] = [e for e in audit_entries(app, "auth:mfa_setup:started") if e.seq not in before]
    viewed = [e for e in audit_entries(app, "auth:mfa_setup:viewed") if e.seq not in before]
    assert len(viewed) == 1
    for entry in (started, *viewed):
        assert (entry.actor_id, entry.object_id) == (hal.user_id, str(hal.user_id))
        assert secret not in repr(entry.__dict__)
    wrong = browser.submit("/login/setup", {"code": "123456"})
    assert "does not match" in wrong.get_data(as_text=True)
    assert browser.get("/dashboard").status_code == 302
    shown = browser.submit("/login/setup", {"code": pyotp.TOTP(secret).now()})
    assert "shown only now" in shown.get_data(as_text=True)
    done = browser.client.post(
        "/login/finish", data={"csrf_token": csrf_token(shown.get_data(as_text=True))}
    )
    assert done.headers["Location"].endswith("/dashboard")
    assert browser.get("/dashboard").status_code == 200
    assert "auth:mfa:enrolled" in audit_actions(app)


def test_staff_are_not_forced_to_enrol(browser: Browser, world: World) -> None:
    cam = world.teacher_cam
    response = browser.submit("/login", {"username": cam.username, "password": cam.password})
    assert response.headers["Location"].endswith("/dashboard")


def test_a_setting_can_relax_mfa_outside_production(overrides: dict[str, object]) -> None:
    relaxed = create_app({**overrides, "signin_mfa_required": False})
    try:
        world = build_world(relaxed)
        ctx = system_ctx(relaxed)
        carry_out(ctx, users.reset_mfa(ctx, user_id=world.lead_ben.user_id))
        ctx.db.close()
        browser = Browser(relaxed.test_client())
        ben = world.lead_ben
        response = browser.submit("/login", {"username": ben.username, "password": ben.password})
        assert response.headers["Location"].endswith("/dashboard")
    finally:
        relaxed.extensions["btam"].stores.dispose()


def test_the_session_cookie_is_http_only_and_same_site_lax(app: Flask, world: World) -> None:
    browser = Browser(app.test_client())
    cam = world.teacher_cam
    response = browser.submit("/login", {"username": cam.username, "password": cam.password})
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("btam="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
    assert "Expires" not in session_cookie  # ends with the browser, never remembered
    assert not any(c.lower().startswith("remember_token") for c in cookies)


def test_production_cookies_are_host_prefixed_and_secure(
    overrides: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BTAM_CONFIG", "production")
    monkeypatch.setenv("BTAM_DATABASE_URL", str(overrides["database_url"]))
    monkeypatch.setenv("BTAM_AUDIT_DATABASE_URL", str(overrides["audit_database_url"]))
    monkeypatch.setenv("BTAM_KEY_FILE", f"{overrides['instance']}/kek.key")
    monkeypatch.setenv("BTAM_AUDIT_SIGNING_KEY_FILE", f"{overrides['instance']}/audit-signing.key")
    monkeypatch.setenv("BTAM_SECRET_KEY", "p" * 48)
    monkeypatch.setenv("BTAM_INSTANCE", str(overrides["instance"]))
    # The test's stores and witness share one temporary disk, on this one host.
    monkeypatch.setenv("BTAM_AUDIT_WITNESS_ALLOW_LOCAL", "true")
    monkeypatch.setenv("BTAM_SQLITE_SINGLE_HOST", "true")
    monkeypatch.setenv("BTAM_SERVER_NAME", "btam.example.org")
    production = create_app()
    try:
        client = production.test_client()
        page = client.get("/login", base_url="https://btam.example.org")
        assert page.status_code == 200
        response = client.post(
            "/login",
            data={
                "csrf_token": csrf_token(page.get_data(as_text=True)),
                "username": "x",
                "password": "y" * 20,
            },
            base_url="https://btam.example.org",
        )
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if "btam" in c)
        assert cookie.startswith("__Host-btam=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie
        plain = client.get("/login", base_url="http://btam.example.org")
        assert plain.status_code in {301, 302}
        assert plain.headers["Location"].startswith("https://")
    finally:
        production.extensions["btam"].stores.dispose()


def test_a_new_session_is_made_at_sign_in(app: Flask, world: World) -> None:
    browser = Browser(app.test_client())
    with browser.client.session_transaction() as planted:
        planted["planted"] = "by an attacker"
    cam = world.teacher_cam
    browser.sign_in(cam.username, cam.password, totp_secret=None)
    with browser.client.session_transaction() as session:
        assert "planted" not in session
        first_token = session["_user_id"]
    browser.sign_out()
    browser.sign_in(cam.username, cam.password, totp_secret=None)
    with browser.client.session_transaction() as session:
        assert session["_user_id"] != first_token


def test_the_session_ends_after_fifteen_idle_minutes(app: Flask, world: World) -> None:
    browser = signed_in(app, world, "member_gus")
    age_sessions(app, world.member_gus.user_id, idle=timedelta(minutes=14))
    assert browser.get("/dashboard").status_code == 200
    age_sessions(app, world.member_gus.user_id, idle=timedelta(minutes=16))
    response = browser.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "auth:session:expired" in audit_actions(app)


def test_the_session_ends_after_eight_hours_however_active(app: Flask, world: World) -> None:
    browser = signed_in(app, world, "member_gus")
    age_sessions(app, world.member_gus.user_id, age=timedelta(hours=7, minutes=59))
    assert browser.get("/dashboard").status_code == 200
    age_sessions(app, world.member_gus.user_id, age=timedelta(minutes=2))
    assert browser.get("/dashboard").status_code == 302


def test_a_copied_cookie_is_refused_after_sign_out(app: Flask, world: World) -> None:
    browser = signed_in(app, world, "teacher_cam")
    stolen = browser.client.get_cookie("btam")
    assert stolen is not None
    browser.sign_out()
    thief = app.test_client()
    thief.set_cookie("btam", stolen.value)
    response = thief.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout_is_a_post(app: Flask, world: World) -> None:
    browser = signed_in(app, world, "teacher_cam")
    assert browser.get("/logout").status_code == 405
    assert browser.get("/dashboard").status_code == 200


def test_a_password_change_ends_the_other_sessions(app: Flask, world: World) -> None:
    laptop = signed_in(app, world, "lead_ben")
    phone = signed_in(app, world, "lead_ben")
    new_password = "a different long passphrase"
    response = laptop.submit(
        "/account/password",
        {"current_password": world.lead_ben.password, "new_password": new_password},
    )
    assert response.headers["Location"].endswith("/account/")
    assert laptop.get("/dashboard").status_code == 200
    assert phone.get("/dashboard").status_code == 302
    assert live_sessions(app, world.lead_ben.user_id) == 1
    assert "account:password:changed" in audit_actions(app)


def test_a_weak_new_password_is_refused_and_the_old_one_kept(app: Flask, world: World) -> None:
    browser = signed_in(app, world, "teacher_cam")
    response = browser.submit(
        "/account/password",
        {"current_password": world.teacher_cam.password, "new_password": "password12345678"},
    )
    assert response.status_code == 200
    assert "most common" in response.get_data(as_text=True)
    browser.sign_out()
    again = browser.sign_in("teacher_cam", world.teacher_cam.password, totp_secret=None)
    assert again.headers["Location"].endswith("/dashboard")


def test_disabling_a_user_ends_their_session_at_once(app: Flask, world: World) -> None:
    member = signed_in(app, world, "member_gus")
    admin = signed_in(app, world, "admin_fay")
    gus_id = world.member_gus.user_id
    admin.post_button(f"/admin/users/{gus_id}", f"/admin/users/{gus_id}/disable")
    response = member.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_end_all_my_other_sessions(app: Flask, world: World) -> None:
    here = signed_in(app, world, "teacher_cam")
    there = signed_in(app, world, "teacher_cam")
    here.post_button("/account/", "/account/sessions/end-others")
    assert here.get("/dashboard").status_code == 200
    assert there.get("/dashboard").status_code == 302


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
def test_sign_in_never_redirects_off_site(app: Flask, world: World, target: str) -> None:
    browser = Browser(app.test_client())
    cam = world.teacher_cam
    response = browser.submit(
        "/login?next=" + target, {"username": cam.username, "password": cam.password}
    )
    assert response.headers["Location"].endswith("/dashboard")


def test_sign_in_returns_to_the_page_asked_for(app: Flask, world: World) -> None:
    browser = Browser(app.test_client())
    first = browser.get("/account/")
    assert first.headers["Location"].startswith("/login?next=/account/")
    cam = world.teacher_cam
    response = browser.submit(
        first.headers["Location"], {"username": cam.username, "password": cam.password}
    )
    assert response.headers["Location"] == "/account/"


def test_an_admin_created_user_must_choose_a_password_first(app: Flask, world: World) -> None:
    admin = signed_in(app, world, "admin_fay")
    created = admin.submit(
        "/admin/users/new",
        {
            "username": "new.teacher",
            "display_name": "New Teacher",
            "role": "staff",
            "discipline": "",
            "school_ids": str(world.school_ids["NHS"]),
        },
    )
    page = created.get_data(as_text=True)
    temporary = re.search(r'id="temporary-password">([^<]+)<', page).group(1)
    browser = Browser(app.test_client())
    response = browser.sign_in("new.teacher", temporary, totp_secret=None)
    assert response.headers["Location"].endswith("/dashboard")
    forced = browser.get("/dashboard")
    assert forced.headers["Location"].endswith("/account/password")
    browser.submit(
        "/account/password",
        {"current_password": temporary, "new_password": "my own long passphrase"},
    )
    assert browser.get("/dashboard").status_code == 200


# --- a lockout holds at every step ---------------------------------------------------------

WRONG = "wrong password here!"


def lock_out(app: Flask, *, username: str | None = None, address: str | None = None) -> None:
    """Lock an account name (five wrong passwords from elsewhere) or a client address (twenty
    wrong passwords from it, for other names)."""
    attacker = Browser(app.test_client())
    attacker.client.environ_base["REMOTE_ADDR"] = address or "192.0.2.66"
    guesses = [username] * 5 if username else [f"guess{n}" for n in range(20)]
    for name in guesses:
        attacker.submit("/login", {"username": name, "password": WRONG})


def recovery_codes_of(app: Flask, world: World, who: str) -> list[str]:
    """Fresh recovery codes of a persona, made on the account page."""
    browser = signed_in(app, world, who)
    shown = browser.submit(
        "/account/",
        {"current_password": world.people[who].password},
        action="/account/recovery-codes",
    )
    browser.sign_out()
    return re.findall(r"<li><code>([a-z2-7-]{19})</code></li>", shown.get_data(as_text=True))


@pytest.mark.parametrize("lock", ["account", "address"])
@pytest.mark.parametrize("step", ["password", "code", "recovery code", "enrolment"])
def test_a_lockout_is_refused_at_every_step_of_signing_in(
    app: Flask, world: World, step: str, lock: str
) -> None:
    """Whoever knows the password must not go on guessing codes once the account name or the
    address is locked: every step refuses, and records the refusal as a lockout."""
    gus = world.member_gus
    address = "198.51.100.30"
    codes = recovery_codes_of(app, world, "member_gus") if step == "recovery code" else []
    if step == "enrolment":
        ctx = system_ctx(app)
        carry_out(ctx, users.reset_mfa(ctx, user_id=gus.user_id))
        ctx.db.close()
    browser = Browser(app.test_client())
    browser.client.environ_base["REMOTE_ADDR"] = address
    url, form = "/login", {"username": gus.username, "password": gus.password}
    if step != "password":
        passed = browser.submit("/login", form)
        url = urlsplit(passed.headers["Location"]).path
    page = browser.get(url).get_data(as_text=True)
    if step == "code":
        form = {"code": next_code(gus.totp_secret or "")}
    elif step == "recovery code":
        form = {"code": codes[0]}
    elif step == "enrolment":
        secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
        form = {"code": pyotp.TOTP(secret).now()}
    lock_out(app, **({"username": gus.username} if lock == "account" else {"address": address}))
    before = len(audit_entries(app, "auth:login:locked"))

    response = browser.client.post(url, data={"csrf_token": csrf_token(page), **form})

    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    refusals = audit_entries(app, "auth:login:locked")[before:]
    assert [(e.outcome, e.client_address) for e in refusals] == [("denied", address)]
    if step != "password":
        assert refusals[0].object_id == str(gus.user_id)
    assert browser.get("/dashboard").status_code == 302
    assert live_sessions(app, gus.user_id) == 0


def test_the_enrolment_page_itself_is_refused_during_a_lockout(app: Flask, world: World) -> None:
    ctx = system_ctx(app)
    carry_out(ctx, users.reset_mfa(ctx, user_id=world.officer_hal.user_id))
    ctx.db.close()
    hal = world.officer_hal
    browser = Browser(app.test_client())
    browser.submit("/login", {"username": hal.username, "password": hal.password})
    lock_out(app, username=hal.username)
    response = browser.get("/login/setup")
    assert response.status_code == 429
    assert "totp-secret" not in response.get_data(as_text=True)
    assert audit_entries(app, "auth:login:locked")[-1].object_id == str(hal.user_id)


# --- counted before checked ----------------------------------------------------------------


def refuse_counting(app: Flask) -> None:
    """Make the case store refuse to count sign-in attempts, and nothing else."""
    engine = app.extensions["btam"].stores.case_engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse_counts() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused'; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_counts BEFORE INSERT OR UPDATE ON signin_counters "
                "FOR EACH ROW EXECUTE FUNCTION refuse_counts()"
            )
        else:
            for event in ("INSERT", "UPDATE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER refuse_counts_{event.lower()} BEFORE {event} "
                    "ON signin_counters BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )


@pytest.mark.parametrize("password", ["right", "wrong"])
def test_an_attempt_that_cannot_be_counted_is_refused_unchecked(
    app: Flask, world: World, password: str
) -> None:
    cam = world.teacher_cam
    refuse_counting(app)
    browser = Browser(app.test_client())
    response = browser.submit(
        "/login",
        {"username": cam.username, "password": cam.password if password == "right" else WRONG},
    )
    assert response.status_code == 503
    actions = audit_actions(app)
    for checked in ("auth:password:accepted", "auth:login:failure", "auth:login:success"):
        assert checked not in actions
    assert browser.get("/dashboard").status_code == 302
    assert live_sessions(app, cam.user_id) == 0


def test_a_right_password_gives_its_count_back(app: Flask, world: World) -> None:
    """Signing in many times from one school's address never locks it (20 right ones here)."""
    cam = world.teacher_cam
    for _ in range(21):
        browser = Browser(app.test_client())
        browser.client.environ_base["REMOTE_ADDR"] = "203.0.113.50"
        response = browser.sign_in(cam.username, cam.password, totp_secret=None)
        assert response.headers["Location"].endswith("/dashboard")


# --- the last step after enrolment is taken once -------------------------------------------


def enrol_through_the_pages(app: Flask, world: World, who: str) -> tuple[Browser, str]:
    """Reset a persona's second factor and enrol again up to the recovery codes' page; return
    the browser and that page."""
    ctx = system_ctx(app)
    carry_out(ctx, users.reset_mfa(ctx, user_id=world.people[who].user_id))
    ctx.db.close()
    person = world.people[who]
    browser = Browser(app.test_client())
    browser.submit("/login", {"username": person.username, "password": person.password})
    page = browser.get("/login/setup").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    shown = browser.submit("/login/setup", {"code": pyotp.TOTP(secret).now()})
    assert "shown only now" in shown.get_data(as_text=True)
    return browser, shown.get_data(as_text=True)


def test_a_saved_cookie_cannot_finish_a_sign_in_again(app: Flask, world: World) -> None:
    """The cookie of the recovery codes' page, copied before "continue", opens no session:
    not while the user is signed in, nor after they have signed out."""
    hal = world.officer_hal
    browser, shown = enrol_through_the_pages(app, world, "officer_hal")
    saved = browser.client.get_cookie("btam")
    assert saved is not None
    token = csrf_token(shown)
    done = browser.client.post("/login/finish", data={"csrf_token": token})
    assert done.headers["Location"].endswith("/dashboard")
    for moment in ("signed in", "signed out"):
        if moment == "signed out":
            browser.sign_out()
        thief = app.test_client()
        thief.set_cookie("btam", saved.value)
        replay = thief.post("/login/finish", data={"csrf_token": token})
        assert replay.status_code == 302 and replay.headers["Location"].endswith("/login")
        assert thief.get("/dashboard").status_code == 302
    assert audit_actions(app).count("auth:login:success") == 1
    assert live_sessions(app, hal.user_id) == 0


def test_the_cookie_holds_no_finished_step_only_a_token(app: Flask, world: World) -> None:
    browser, _shown = enrol_through_the_pages(app, world, "officer_hal")
    with browser.client.session_transaction() as session:
        pending = session["pending"]
    assert pending["step"] == "done" and len(pending["token"]) >= 43
    with app.extensions["btam"].stores.case_sessions() as db:
        stored = db.execute(select(SigninStepToken.token_hash)).scalars().all()
    assert pending["token"] not in stored
    assert hashlib.sha256(pending["token"].encode()).hexdigest() in stored


def test_a_saved_cookie_of_the_password_step_cannot_enrol_again(app: Flask, world: World) -> None:
    """Copied after the password step, before the user enrolled: once the user has enrolled,
    the copy can neither show a new authenticator's QR code nor replace theirs."""
    ctx = system_ctx(app)
    carry_out(ctx, users.reset_mfa(ctx, user_id=world.officer_hal.user_id))
    ctx.db.close()
    hal = world.officer_hal
    browser = Browser(app.test_client())
    browser.submit("/login", {"username": hal.username, "password": hal.password})
    saved = browser.client.get_cookie("btam")
    assert saved is not None
    page = browser.get("/login/setup").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    shown = browser.submit("/login/setup", {"code": pyotp.TOTP(secret).now()})
    browser.client.post(
        "/login/finish", data={"csrf_token": csrf_token(shown.get_data(as_text=True))}
    )
    thief = app.test_client()
    thief.set_cookie("btam", saved.value)
    again = thief.get("/login/setup")
    assert again.status_code == 302 and again.headers["Location"].endswith("/login")
    assert (
        audit_actions(app).count("auth:mfa:enrolled")
        == len([p for p in world.people.values() if p.totp_secret]) + 1
    )


# --- a GET that writes does not fail on another worker's commit -----------------------------


@contextmanager
def another_worker_commits_after_the_first_read(app: Flask) -> Iterator[list[str]]:
    """While armed, right after the request's first SELECT another connection commits a write,
    as another gunicorn worker would: the request's snapshot is then no longer the newest."""
    rt = app.extensions["btam"]
    engine = rt.stores.case_engine
    other = make_engine(rt.settings.database_url)
    fired: list[str] = []

    def after(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if fired or not statement.lstrip().upper().startswith("SELECT"):
            return
        fired.append(statement)
        with other.begin() as conn:
            conn.execute(text("UPDATE schools SET name = name"))

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield fired
    finally:
        event.remove(engine, "after_cursor_execute", after)
        other.dispose()


@pytest.mark.parametrize("write", ["last use", "end", "pending authenticator"])
def test_a_get_that_writes_holds_when_another_worker_commits_meanwhile(
    app: Flask, world: World, write: str
) -> None:
    gus = world.member_gus
    browser = Browser(app.test_client())
    if write == "pending authenticator":
        ctx = system_ctx(app)
        carry_out(ctx, users.reset_mfa(ctx, user_id=gus.user_id))
        ctx.db.close()
        browser.submit("/login", {"username": gus.username, "password": gus.password})
        url = "/login/setup"
    else:
        browser = signed_in(app, world, "member_gus")
        idle = timedelta(minutes=1) if write == "last use" else timedelta(minutes=16)
        age_sessions(app, gus.user_id, idle=idle)
        url = "/dashboard"
    with another_worker_commits_after_the_first_read(app) as fired:
        response = browser.get(url)
    assert fired, "the request read nothing"
    assert (
        response.status_code == {"last use": 200, "end": 302, "pending authenticator": 200}[write]
    )
    if write == "end":
        assert audit_actions(app).count("auth:session:expired") == 1
        assert live_sessions(app, gus.user_id) == 0
    elif write == "last use":
        with app.extensions["btam"].stores.case_sessions() as db:
            seen = db.execute(
                select(UserSession.last_seen_at).where(UserSession.user_id == gus.user_id)
            ).scalar_one()
        assert datetime.now(UTC) - seen < timedelta(seconds=30)
    else:
        assert 'id="totp-secret"' in response.get_data(as_text=True)


def test_parallel_guesses_are_each_counted_before_any_is_checked(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight guesses at one account at once, each from another address. Every password check
    is held until every guess is being checked or has been answered, so all eight overlap as
    badly as they can: still no more than five are checked, the others are refused as a
    lockout, and each is on record. (tests/functional/test_parallel_clients.py does the same
    against gunicorn.)"""
    guesses = 8
    held = threading.Condition()
    progress = {"checking": 0, "answered": 0}
    check = PasswordHashing.verify

    def held_check(self: PasswordHashing, stored: str | None, password: str) -> bool:
        with held:
            progress["checking"] += 1
            held.notify_all()
            held.wait_for(lambda: progress["checking"] + progress["answered"] >= guesses, 10)
        return check(self, stored, password)

    monkeypatch.setattr(PasswordHashing, "verify", held_check)
    browsers = []
    for n in range(guesses):
        browser = Browser(app.test_client())
        browser.client.environ_base["REMOTE_ADDR"] = f"192.0.2.{n + 1}"
        browsers.append(browser)
    tokens = [csrf_token(b.get("/login").get_data(as_text=True)) for b in browsers]
    start = threading.Barrier(guesses)

    def guess(n: int) -> int:
        start.wait(timeout=30)
        try:
            return (
                browsers[n]
                .client.post(
                    "/login",
                    data={"csrf_token": tokens[n], "username": "member_gus", "password": WRONG},
                )
                .status_code
            )
        finally:
            with held:
                progress["answered"] += 1
                held.notify_all()

    with ThreadPoolExecutor(max_workers=guesses) as pool:
        answers = list(pool.map(guess, range(guesses)))

    assert answers.count(200) == progress["checking"] <= 5
    assert answers.count(429) == guesses - answers.count(200)
    assert len(audit_entries(app, "auth:login:failure")) == answers.count(200)
    assert len(audit_entries(app, "auth:login:locked")) == answers.count(429)
