"""``/healthz``, the audit store's outage (fail closed), and the error pages people meet.

The audit store "goes down" by starting another worker on the same case store whose audit
URL names a local port that refuses connections: a real driver failing a real connection.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from btam import create_app
from btam.accounts.models import School, Team, User, UserSession
from btam.accounts.services import users
from btam.audit.models import AuditEntry
from btam.context import carry_out
from btam.store_probe import audit_store_probe, case_store_probe
from tests.support.outage import read_only, worker_with
from tests.support.personas import World, system_ctx
from tests.support.stores import audit_actions, live_sessions
from tests.support.web import Browser, csrf_token, next_code, signed_in

UNAVAILABLE = "Temporarily unavailable"
GENERIC = "The user name or password is not right"


def moved_to(browser: Browser, worker: Flask) -> Browser:
    """The same person's browser, now served by another worker (the cookie goes along)."""
    cookie = browser.client.get_cookie("btam")
    assert cookie is not None
    other = Browser(worker.test_client())
    other.client.set_cookie("btam", cookie.value)
    return other


def session_rows(app: Flask, user_id: int | None = None) -> int:
    with app.extensions["btam"].stores.case_sessions() as db:
        query = select(func.count(UserSession.id))
        if user_id is not None:
            query = query.where(UserSession.user_id == user_id)
        return int(db.execute(query).scalar_one())


def user_state(app: Flask, user_id: int) -> tuple[object, ...]:
    with app.extensions["btam"].stores.case_sessions() as db:
        user = db.get(User, user_id)
        assert user is not None
        return (
            user.display_name,
            str(user.role),
            user.is_active,
            user.password_hash,
            user.must_change_password,
            user.mfa_secret,
            user.mfa_last_step,
            tuple(s.id for s in user.schools),
        )


def counts(app: Flask) -> tuple[int, int, int]:
    with app.extensions["btam"].stores.case_sessions() as db:
        return (
            int(db.execute(select(func.count(User.id))).scalar_one()),
            int(db.execute(select(func.count(Team.id))).scalar_one()),
            int(db.execute(select(func.count(School.id))).scalar_one()),
        )


# --- /healthz ------------------------------------------------------------------------------


def test_health_is_ok_when_both_stores_answer(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"status": "ok", "case_store": "ok", "audit_store": "ok"}
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("dead", "expected"),
    [
        ({"audit": True}, {"case_store": "ok", "audit_store": "unavailable"}),
        ({"case": True}, {"case_store": "unavailable", "audit_store": "ok"}),
        (
            {"case": True, "audit": True},
            {"case_store": "unavailable", "audit_store": "unavailable"},
        ),
    ],
)
def test_health_is_503_and_names_the_store_that_is_down(
    overrides: dict[str, object], dead: dict[str, bool], expected: dict[str, str]
) -> None:
    with worker_with(overrides, **dead) as worker:
        response = worker.test_client().get("/healthz")
        assert response.status_code == 503
        body = response.get_json()
        assert set(body) == {"status", "case_store", "audit_store"}
        assert body["status"] != "ok"
        assert {k: body[k] for k in expected} == expected
        # Only the states: no driver message, host, port or URL.
        assert "127.0.0.1" not in response.get_data(as_text=True)


def test_health_is_503_while_the_audit_store_answers_reads_but_refuses_writes(
    overrides: dict[str, object], world: World
) -> None:
    refusing = {**overrides, "audit_database_url": read_only(str(overrides["audit_database_url"]))}
    worker = create_app(refusing)
    try:
        with worker.extensions["btam"].stores.audit_sessions() as db:
            assert db.scalar(select(func.count(AuditEntry.seq)))  # reads still work
        response = worker.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json() == {
            "status": "degraded",
            "case_store": "ok",
            "audit_store": "unavailable",
        }
        text = response.get_data(as_text=True).lower()
        assert not any(word in text for word in ("read", "only", "file:", "sqlite", "insert"))
        # What /healthz now reports is what people meet: every audited action is refused.
        cam = world.teacher_cam
        browser = Browser(worker.test_client())
        signin = browser.submit("/login", {"username": cam.username, "password": cam.password})
        assert signin.status_code == 503
    finally:
        worker.extensions["btam"].stores.dispose()


def test_the_health_probe_leaves_no_row_behind(app: Flask) -> None:
    for _ in range(3):
        assert app.test_client().get("/healthz").status_code == 200
    stores = app.extensions["btam"].stores
    with stores.case_sessions() as db:
        assert db.scalar(select(func.count()).select_from(case_store_probe)) == 0
    with stores.audit_sessions() as db:
        assert db.scalar(select(func.count()).select_from(audit_store_probe)) == 0


def test_health_needs_no_sign_in_and_reveals_nothing_else(app: Flask, world: World) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert set(response.get_json()) == {"status", "case_store", "audit_store"}


# --- the audit store is down: fail closed --------------------------------------------------


def test_while_the_audit_store_is_down_staff_cannot_sign_in(
    app: Flask, overrides: dict[str, object], world: World
) -> None:
    cam = world.teacher_cam
    sessions_before = session_rows(app)
    with worker_with(overrides, audit=True) as down:
        browser = Browser(down.test_client())
        response = browser.submit("/login", {"username": cam.username, "password": cam.password})
        assert response.status_code == 503
        assert UNAVAILABLE in response.get_data(as_text=True)
        assert browser.get("/dashboard").status_code == 302
    assert session_rows(app) == sessions_before
    # Back up: the same person signs in.
    assert signed_in(app, world, "teacher_cam").get("/dashboard").status_code == 200


def test_while_the_audit_store_is_down_the_second_factor_is_refused_and_not_used_up(
    app: Flask, overrides: dict[str, object], world: World
) -> None:
    ben = world.lead_ben
    # The password step passes while the audit store is up; then it goes down.
    healthy = Browser(app.test_client())
    healthy.submit("/login", {"username": ben.username, "password": ben.password})
    cookie = healthy.client.get_cookie("btam")
    assert cookie is not None
    before = user_state(app, ben.user_id)
    with worker_with(overrides, audit=True) as down:
        browser = Browser(down.test_client())
        browser.client.set_cookie("btam", cookie.value)
        response = browser.submit("/login/code", {"code": next_code(ben.totp_secret or "")})
        assert response.status_code == 503
        assert browser.get("/dashboard").status_code == 302
    assert session_rows(app, ben.user_id) == 0
    assert user_state(app, ben.user_id) == before  # the code's time step was not recorded


def test_while_the_audit_store_is_down_a_password_guess_reveals_nothing(
    app: Flask, overrides: dict[str, object], world: World
) -> None:
    """Right and wrong passwords get the same refusal, so nobody can guess unaudited."""
    ben = world.lead_ben
    with worker_with(overrides, audit=True) as down:
        wrong = Browser(down.test_client()).submit(
            "/login", {"username": ben.username, "password": "a wrong guess at it"}
        )
        right = Browser(down.test_client()).submit(
            "/login", {"username": ben.username, "password": ben.password}
        )
        assert wrong.status_code == 503
        assert (right.status_code, right.headers.get("Location")) == (503, None)


def test_while_the_audit_store_is_down_failed_guesses_still_count(
    app: Flask, overrides: dict[str, object], world: World
) -> None:
    """An outage of the audit store must not lift the lockout: guesses count all the same."""
    gus = world.member_gus
    with worker_with(overrides, audit=True) as down:
        for _ in range(5):
            Browser(down.test_client()).submit(
                "/login", {"username": gus.username, "password": "a wrong guess at it"}
            )
    response = Browser(app.test_client()).submit(
        "/login", {"username": gus.username, "password": gus.password}
    )
    assert response.status_code == 429


def test_while_the_audit_store_is_down_an_admin_cannot_disable_a_user(
    app: Flask, overrides: dict[str, object], world: World
) -> None:
    gus = world.member_gus
    gus_browser = signed_in(app, world, "member_gus")
    fay = signed_in(app, world, "admin_fay")
    before = user_state(app, gus.user_id)
    with worker_with(overrides, audit=True) as down:
        fay_down = moved_to(fay, down)
        response = fay_down.post_button(
            f"/admin/users/{gus.user_id}", f"/admin/users/{gus.user_id}/disable"
        )
        assert response.status_code == 503
        assert UNAVAILABLE in response.get_data(as_text=True)
        assert "nothing was changed" in response.get_data(as_text=True)
    assert user_state(app, gus.user_id) == before
    assert live_sessions(app, gus.user_id) == 1
    assert gus_browser.get("/dashboard").status_code == 200
    assert "admin:user:disabled" not in audit_actions(app)
    # Once the audit store answers again, the same action goes through and is recorded.
    fay.post_button(f"/admin/users/{gus.user_id}", f"/admin/users/{gus.user_id}/disable")
    assert "admin:user:disabled" in audit_actions(app)
    assert gus_browser.get("/dashboard").status_code == 302


@pytest.mark.parametrize("action", ["create user", "reset password", "reset two-step", "team"])
def test_while_the_audit_store_is_down_no_admin_change_is_stored(
    app: Flask, overrides: dict[str, object], world: World, action: str
) -> None:
    fay = signed_in(app, world, "admin_fay")
    cam = world.teacher_cam
    before = (counts(app), user_state(app, cam.user_id), user_state(app, world.lead_ben.user_id))
    with worker_with(overrides, audit=True) as down:
        admin = moved_to(fay, down)
        if action == "create user":
            response = admin.submit(
                "/admin/users/new",
                {
                    "username": "during.outage",
                    "display_name": "During Outage",
                    "role": "staff",
                    "discipline": "",
                    "district_wide": "y",
                },
            )
        elif action == "reset password":
            response = admin.post_button(
                f"/admin/users/{cam.user_id}", f"/admin/users/{cam.user_id}/reset-password"
            )
        elif action == "reset two-step":
            ben_id = world.lead_ben.user_id
            response = admin.post_button(
                f"/admin/users/{ben_id}", f"/admin/users/{ben_id}/reset-two-step"
            )
        else:
            response = admin.submit(
                "/admin/teams/new",
                {"name": "Outage Team", "school_ids": [str(world.school_ids["NHS"])]},
            )
        assert response.status_code == 503
        assert 'id="temporary-password"' not in response.get_data(as_text=True)
    after = (counts(app), user_state(app, cam.user_id), user_state(app, world.lead_ben.user_id))
    assert after == before
    # The old password still opens the account.
    assert signed_in(app, world, "teacher_cam").get("/dashboard").status_code == 200


def test_while_the_audit_store_is_down_a_refused_page_is_not_shown(
    app: Flask, overrides: dict[str, object], world: World
) -> None:
    """A denial that cannot be recorded is still a denial (503, never the page)."""
    cam = signed_in(app, world, "teacher_cam")
    with worker_with(overrides, audit=True) as down:
        response = moved_to(cam, down).get("/admin/")
        assert response.status_code in {403, 503}
        assert "Administration" not in response.get_data(as_text=True)


# --- error pages ---------------------------------------------------------------------------


def test_a_signed_in_user_gets_the_404_page_for_an_unknown_url(app: Flask, world: World) -> None:
    response = signed_in(app, world, "teacher_cam").get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Not found" in page and "Error 404" in page
    assert "/no/such/page" not in page


def test_a_visitor_learns_nothing_about_which_urls_exist(app: Flask) -> None:
    client = app.test_client()
    unknown = client.get("/no/such/page")
    known = client.get("/admin/")
    assert unknown.status_code == known.status_code == 302
    assert "/login" in unknown.headers["Location"] and "/login" in known.headers["Location"]


def test_get_logout_is_405(app: Flask, world: World) -> None:
    browser = signed_in(app, world, "teacher_cam")
    response = browser.get("/logout")
    assert response.status_code == 405
    assert "cannot be used that way" in response.get_data(as_text=True)
    assert browser.get("/dashboard").status_code == 200  # still signed in


def test_the_405_page_names_the_allowed_methods(app: Flask, world: World) -> None:
    """RFC 9110 (15.5.6): a 405 answer must carry an Allow header."""
    response = signed_in(app, world, "teacher_cam").get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers.get("Allow", "")


def test_the_csrf_page_says_the_form_expired(app: Flask) -> None:
    response = app.test_client().post("/login", data={"username": "x", "password": "y"})
    assert response.status_code == 400
    assert "The form had expired" in response.get_data(as_text=True)


# --- hostile input on the sign-in pages: never a 500 ---------------------------------------


@pytest.mark.parametrize(
    "username",
    [
        "nul\x00byte",
        "\x00",
        "x" * 5000,
        "admin_fay' OR '1'='1",
        "ＡＤＭＩＮ＿ＦＡＹ",
        "\ud7ff\ufffe\uffff",
        "a\u0000' ; DROP TABLE users; --",
    ],
)
def test_hostile_user_names_get_the_generic_failure_not_a_500(
    app: Flask, world: World, username: str
) -> None:
    response = Browser(app.test_client()).submit(
        "/login", {"username": username, "password": "some password typed here"}
    )
    assert response.status_code == 200, response.status_code
    assert GENERIC in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "code",
    [
        "١٢٣٤٥٦",  # Arabic-Indic digits
        "１２３４５６",  # full-width digits
        "²³⁴⁵⁶⁷",  # superscripts count as digits to Python
        "12345\x00",
        "x" * 40,
    ],
)
def test_hostile_second_factor_codes_are_refused_not_a_500(
    app: Flask, world: World, code: str
) -> None:
    ben = world.lead_ben
    browser = Browser(app.test_client())
    browser.submit("/login", {"username": ben.username, "password": ben.password})
    response = browser.submit("/login/code", {"code": code})
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    assert "That code is not right" in html or "Remove the control characters" in html


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "１２３４５６", "\x00\x00\x00\x00\x00\x00"])
def test_hostile_enrolment_codes_are_refused_not_a_500(app: Flask, world: World, code: str) -> None:
    ctx = system_ctx(app)
    carry_out(ctx, users.reset_mfa(ctx, user_id=world.member_gus.user_id))
    ctx.db.close()
    gus = world.member_gus
    browser = Browser(app.test_client())
    browser.submit("/login", {"username": gus.username, "password": gus.password})
    response = browser.submit("/login/setup", {"code": code})
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    assert "does not match" in html or "Remove the control characters" in html


def test_a_forged_pending_sign_in_opens_nothing(app: Flask, world: World) -> None:
    """The pending step lives in the signed session: a made-up cookie is refused."""
    client = app.test_client()
    client.set_cookie("btam", "eyJwZW5kaW5nIjp7InVzZXJfaWQiOjEsInN0ZXAiOiJkb25lIn19.forged.sig")
    page = client.get("/login")
    response = client.post(
        "/login/finish", data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    assert client.get("/dashboard").status_code == 302


def test_while_the_audit_store_is_down_sign_out_still_ends_the_session(
    app: Flask, overrides: dict[str, object], world: World
) -> None:
    """The one exception to failing closed: a refused sign-out would leave a live session."""
    browser = signed_in(app, world, "teacher_cam")
    with worker_with(overrides, audit=True) as down:
        away = moved_to(browser, down)
        response = away.sign_out()
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert browser.get("/dashboard").status_code == 302
    assert live_sessions(app, world.teacher_cam.user_id) == 0
