"""The user's own account page: recovery codes, a new device, sessions."""

from __future__ import annotations

import re

import pyotp
from flask import Flask

from tests.support.personas import World
from tests.support.stores import audit_actions, audit_entries
from tests.support.web import Browser, signed_in

NEW = "an entirely new passphrase of mine"
CODE = re.compile(r"<li><code>([a-z2-7-]{19})</code></li>")


def test_the_account_page_shows_the_sign_in_state(app: Flask, world: World) -> None:
    page = signed_in(app, world, "member_gus").get("/account/").get_data(as_text=True)
    assert "gus" in page.lower()
    assert "You have 10 unused recovery codes" in page


def test_new_recovery_codes_need_the_password_and_replace_the_old_ones(
    app: Flask, world: World
) -> None:
    gus = signed_in(app, world, "member_gus")
    refused = gus.submit(
        "/account/",
        {"current_password": "not my password at all"},
        action="/account/recovery-codes",
        follow=True,
    )
    assert "Your password is not right." in refused.get_data(as_text=True)
    shown = gus.submit(
        "/account/",
        {"current_password": world.member_gus.password},
        action="/account/recovery-codes",
    )
    codes = CODE.findall(shown.get_data(as_text=True))
    assert len(codes) == 10
    fresh = Browser(app.test_client())
    fresh.submit("/login", {"username": "member_gus", "password": world.member_gus.password})
    assert fresh.submit("/login/code", {"code": codes[3]}).status_code == 302


def test_a_stolen_session_cannot_plant_its_own_authenticator(app: Flask, world: World) -> None:
    thief = signed_in(app, world, "lead_ben")
    page = thief.get("/account/two-step").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    response = thief.submit(
        "/account/two-step",
        {"code": pyotp.TOTP(secret).now(), "current_password": "a guess that is wrong"},
    )
    assert "Your password is not right." in response.get_data(as_text=True)
    assert audit_actions(app).count("auth:mfa:enrolled") == len(
        [p for p in world.people.values() if p.totp_secret]
    )


def test_moving_to_a_new_device_replaces_the_old_one(app: Flask, world: World) -> None:
    ben = signed_in(app, world, "lead_ben")
    page = ben.get("/account/two-step").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    response = ben.submit(
        "/account/two-step",
        {"code": pyotp.TOTP(secret).now(), "current_password": world.lead_ben.password},
    )
    assert len(CODE.findall(response.get_data(as_text=True))) == 10
    old_device = Browser(app.test_client())
    old_device.submit("/login", {"username": "lead_ben", "password": world.lead_ben.password})
    old_code = pyotp.TOTP(world.lead_ben.totp_secret or "").now()
    assert old_device.submit("/login/code", {"code": old_code}).status_code == 200


def test_wrong_passwords_on_the_account_page_count_like_sign_in_failures(
    app: Flask, world: World
) -> None:
    """A stolen session cannot guess the password on the account page any faster than at the
    sign-in page: the same counters, so five wrong ones lock the account everywhere."""
    gus = signed_in(app, world, "member_gus")
    wrong = "a guess that is not right"
    gus.submit("/account/", {"current_password": wrong}, action="/account/recovery-codes")
    gus.submit("/account/confirm-password", {"current_password": wrong})
    gus.submit("/account/password", {"current_password": wrong, "new_password": NEW})
    gus.submit("/account/two-step", {"code": "123456", "current_password": wrong})
    gus.submit("/account/confirm-password", {"current_password": wrong})
    assert audit_actions(app).count("auth:reauth:failure") == 5
    refused = gus.submit(
        "/account/",
        {"current_password": world.member_gus.password},
        action="/account/recovery-codes",
    )
    assert refused.status_code == 429
    assert audit_entries(app, "auth:login:locked")[-1].object_id == str(world.member_gus.user_id)
    elsewhere = Browser(app.test_client())
    elsewhere.client.environ_base["REMOTE_ADDR"] = "198.51.100.77"
    response = elsewhere.submit(
        "/login", {"username": "member_gus", "password": world.member_gus.password}
    )
    assert response.status_code == 429


def test_a_right_password_on_the_account_page_is_not_counted(app: Flask, world: World) -> None:
    gus = signed_in(app, world, "member_gus")
    for _ in range(6):
        confirmed = gus.submit(
            "/account/confirm-password", {"current_password": world.member_gus.password}
        )
        assert confirmed.status_code == 302
    fresh = Browser(app.test_client())
    passed = fresh.submit(
        "/login", {"username": "member_gus", "password": world.member_gus.password}
    )
    assert passed.headers["Location"].endswith("/login/code")
