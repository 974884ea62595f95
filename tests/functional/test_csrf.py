"""Every state-changing request needs the form token of the session that sends it.

The routes are walked from ``app.url_map``, so a route added later is covered without
touching this file. Each forged request carries a well-formed form, so only the token can
stop it; then the stores are compared with what they held before.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask, url_for
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.support.personas import World
from tests.support.stores import audit_actions
from tests.support.stores import case_store_digest as snapshot
from tests.support.web import Browser, csrf_token, signed_in

EXPIRED = "The form had expired"
NEW_PASSWORD = "an entirely new passphrase here"


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


# The anonymous tip line is exempt on purpose: it sets no cookie, so there is no session to
# forge a request in (tests/functional/test_tips.py checks that it never sets one).
CSRF_EXEMPT = frozenset({"tips.tip", "tips.follow_up"})


def post_routes(app: Flask, world: World) -> list[tuple[str, str]]:
    """(endpoint, url) of every route that accepts POST, with real ids filled in."""
    values: dict[str, object] = {
        "user_id": world.member_gus.user_id,
        "team_id": world.team_ids["north"],
    }
    found = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or set()) or rule.endpoint in CSRF_EXEMPT:
            continue
        for change in ("disable", "enable") if "change" in rule.arguments else (None,):
            args = {name: values.get(name, 1) for name in rule.arguments if name != "change"}
            if change:
                args["change"] = change
            with app.test_request_context():
                found.append((rule.endpoint, url_for(rule.endpoint, **args)))
    return sorted(set(found))


def forged_form(endpoint: str, world: World) -> dict[str, object]:
    """What a forging page would send: a complete, valid form, minus the right token."""
    nhs = str(world.school_ids["NHS"])
    return {
        "auth.login": {"username": "admin_fay", "password": world.admin_fay.password},
        "account.password": {
            "current_password": world.admin_fay.password,
            "new_password": NEW_PASSWORD,
        },
        "admin.new_user": {
            "username": "forged.user",
            "display_name": "Forged User",
            "role": "district_admin",
            "discipline": "",
            "district_wide": "y",
        },
        "admin.edit_user": {
            "display_name": "Forged Name",
            "role": "district_admin",
            "discipline": "",
            "district_wide": "y",
        },
        "admin.team": {"name": "Forged Team", "school_ids": [nhs], "member_ids": []},
        "admin.schools": {"name": "Forged School", "code": "FRG"},
    }.get(endpoint, {})


def test_the_route_walk_finds_the_forms(app: Flask, world: World) -> None:
    endpoints = {endpoint for endpoint, _url in post_routes(app, world)}
    for expected in (
        "auth.login",
        "auth.logout",
        "account.password",
        "account.end_other_sessions",
        "admin.new_user",
        "admin.set_active",
        "admin.reset_password",
        "admin.reset_mfa",
        "admin.team",
        "admin.schools",
    ):
        assert expected in endpoints


def test_no_route_takes_put_patch_or_delete(app: Flask) -> None:
    """Only POST changes state, so the token check on POST covers every change."""
    for rule in app.url_map.iter_rules():
        assert (rule.methods or set()) <= {"GET", "HEAD", "OPTIONS", "POST"}, rule


@pytest.mark.parametrize("token", [None, "", "not-a-token", "a" * 500, "ImFiYyI.Zm9v.YmFy"])
def test_a_signed_in_user_cannot_post_anywhere_without_their_token(
    app: Flask, world: World, token: str | None
) -> None:
    fay = signed_in(app, world, "admin_fay")
    before, actions_before = snapshot(app), audit_actions(app)
    for endpoint, url in post_routes(app, world):
        data = dict(forged_form(endpoint, world))
        if token is not None:
            data["csrf_token"] = token
        response = fay.client.post(url, data=data)
        assert response.status_code == 400, (endpoint, url, response.status_code)
        assert EXPIRED in text(response), endpoint
    assert snapshot(app) == before
    assert audit_actions(app) == actions_before
    assert fay.get("/dashboard").status_code == 200  # the forged sign-out did nothing either


def test_a_token_from_another_users_session_does_not_work(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    cam = signed_in(app, world, "teacher_cam")
    cams_token = csrf_token(text(cam.get("/account/")))
    before, actions_before = snapshot(app), audit_actions(app)
    for endpoint, url in post_routes(app, world):
        data = {**forged_form(endpoint, world), "csrf_token": cams_token}
        response = fay.client.post(url, data=data)
        assert response.status_code == 400, (endpoint, url, response.status_code)
    assert snapshot(app) == before
    assert audit_actions(app) == actions_before


def test_a_token_from_another_session_of_the_same_user_does_not_work(
    app: Flask, world: World
) -> None:
    laptop = signed_in(app, world, "admin_fay")
    phone = signed_in(app, world, "admin_fay")
    token_of_laptop = csrf_token(text(laptop.get("/admin/")))
    gus_id = world.member_gus.user_id
    before = snapshot(app)
    response = phone.client.post(
        f"/admin/users/{gus_id}/disable", data={"csrf_token": token_of_laptop}
    )
    assert response.status_code == 400
    assert snapshot(app) == before
    assert "admin:user:disabled" not in audit_actions(app)


def test_a_token_from_before_sign_in_does_not_work_after_it(app: Flask, world: World) -> None:
    """Sign-in starts a new session, so a token planted before it is worthless after it."""
    browser = Browser(app.test_client())
    planted = csrf_token(text(browser.get("/login")))
    fay = world.admin_fay
    browser.sign_in(fay.username, fay.password, totp_secret=fay.totp_secret)
    gus_id = world.member_gus.user_id
    response = browser.client.post(f"/admin/users/{gus_id}/disable", data={"csrf_token": planted})
    assert response.status_code == 400
    assert "admin:user:disabled" not in audit_actions(app)


def test_a_token_older_than_an_hour_is_refused(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    fay.get("/admin/")  # a page with a form puts the raw token in the session
    with fay.client.session_transaction() as session:
        raw = session["csrf_token"]

    class TwoHoursAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 2 * 3600

    secret = app.config["SECRET_KEY"]
    stale = URLSafeTimedSerializer(secret, salt="wtf-csrf-token", signer=TwoHoursAgo).dumps(raw)
    gus_id = world.member_gus.user_id
    response = fay.client.post(f"/admin/users/{gus_id}/disable", data={"csrf_token": stale})
    assert response.status_code == 400
    assert EXPIRED in text(response)
    assert "admin:user:disabled" not in audit_actions(app)
    # The same raw token signed now works: the refusal above was the age, nothing else.
    fresh = URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)
    response = fay.client.post(f"/admin/users/{gus_id}/disable", data={"csrf_token": fresh})
    assert response.status_code == 302
    assert "admin:user:disabled" in audit_actions(app)


def test_admin_cannot_be_made_to_disable_a_user_without_a_token(app: Flask, world: World) -> None:
    gus_browser = signed_in(app, world, "member_gus")
    fay = signed_in(app, world, "admin_fay")
    gus_id = world.member_gus.user_id
    forged = fay.client.post(f"/admin/users/{gus_id}/disable")
    assert forged.status_code == 400
    assert gus_browser.get("/dashboard").status_code == 200
    # Control: with the page's own token, the same click works.
    done = fay.post_button(f"/admin/users/{gus_id}", f"/admin/users/{gus_id}/disable")
    assert done.status_code == 302
    assert gus_browser.get("/dashboard").status_code == 302


def test_a_user_cannot_be_made_to_change_their_password_without_a_token(
    app: Flask, world: World
) -> None:
    cam = world.teacher_cam
    browser = signed_in(app, world, "teacher_cam")
    forged = browser.client.post(
        "/account/password",
        data={"current_password": cam.password, "new_password": NEW_PASSWORD},
    )
    assert forged.status_code == 400
    assert EXPIRED in text(forged)
    assert "account:password:changed" not in audit_actions(app)
    browser.sign_out()
    again = Browser(app.test_client()).submit(
        "/login", {"username": cam.username, "password": cam.password}
    )
    assert again.headers["Location"].endswith("/dashboard")


def test_a_json_post_without_a_token_is_refused(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    response = fay.client.post("/admin/schools", json={"name": "Json School", "code": "JSN"})
    assert response.status_code == 400
    assert "Json School" not in text(fay.get("/admin/schools"))


def test_a_visitor_cannot_post_a_sign_in_without_a_token(app: Flask, world: World) -> None:
    fay = world.admin_fay
    client = app.test_client()
    response = client.post("/login", data={"username": fay.username, "password": fay.password})
    assert response.status_code == 400
    assert EXPIRED in text(response)
    assert "auth:login:success" not in audit_actions(app)


def test_only_the_tip_line_is_exempt_from_csrf(app: Flask) -> None:
    csrf = app.extensions["csrf"]
    assert {bp.name for bp in csrf._exempt_blueprints} == {"tips"}
    assert csrf._exempt_views == set()
    tip_posts = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("tips.") and "POST" in (rule.methods or set())
    }
    assert tip_posts == CSRF_EXEMPT
