"""``/admin/``: the district administrator manages users, teams and schools; nobody else can.

Personas (tests/support/personas.py): ``admin_fay`` is the district administrator; every
other persona is refused every admin page and every admin action, and the refusal is audited.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, url_for
from sqlalchemy import func, select

from btam.accounts.models import School, Team, User, UserSession
from btam.accounts.services import organisation, users
from btam.accounts.signin import actor_for
from btam.audit.context import AuditContext
from btam.context import carry_out
from btam.errors import ReauthenticationRequired
from tests.support.personas import World, system_ctx
from tests.support.stores import (
    age_reauthentication,
    audit_actions,
    audit_entries,
    case_store_digest,
    live_sessions,
)
from tests.support.web import Browser, csrf_token, signed_in

NOT_ADMINS = (
    "lead_ben",
    "member_gus",
    "officer_hal",
    "counselor_ana",
    "teacher_cam",
    "outsider_dee",
    "auditor_eve",
)
NEW_PASSWORD = "a brand new passphrase of mine"


# --- helpers -------------------------------------------------------------------------------


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def field_error(html: str, field: str) -> str | None:
    """The error shown next to a form field (the macro ties it to the field by id)."""
    match = re.search(rf'<p class="error" id="{re.escape(field)}-error">(.*?)</p>', html, re.S)
    return unescape(match.group(1)).strip() if match else None


def fieldset(html: str, legend: str) -> str:
    """The checkboxes of one group of a form, found by its legend."""
    match = re.search(
        rf"<fieldset[^>]*>\s*<legend>{re.escape(legend)}</legend>(.*?)</fieldset>", html, re.S
    )
    assert match, f"no fieldset {legend!r}"
    return match.group(1)


def temporary_password_on(html: str) -> str:
    match = re.search(r'id="temporary-password">([^<]+)<', html)
    assert match, "the page shows no temporary password"
    return match.group(1)


def new_user_form(**changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "username": "new.person",
        "display_name": "New Person",
        "role": "staff",
        "discipline": "",
    }
    form.update(changes)
    return form


def user_named(app: Flask, username: str) -> User | None:
    with app.extensions["btam"].stores.case_sessions() as db:
        user = db.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is not None:
            _ = user.schools, user.teams  # load before the session closes
        return user


def user_by_id(app: Flask, user_id: int) -> User:
    with app.extensions["btam"].stores.case_sessions() as db:
        user = db.get(User, user_id)
        assert user is not None
        _ = user.schools, user.teams
        return user


def team_by_id(app: Flask, team_id: int) -> Team:
    with app.extensions["btam"].stores.case_sessions() as db:
        team = db.get(Team, team_id)
        assert team is not None
        _ = team.schools, team.members
        return team


def count(app: Flask, model: type[Any]) -> int:
    with app.extensions["btam"].stores.case_sessions() as db:
        return int(db.execute(select(func.count()).select_from(model)).scalar_one())


def case_snapshot(app: Flask) -> dict[str, list[tuple[object, ...]]]:
    """Everything an admin action could change in the case store."""
    with app.extensions["btam"].stores.case_sessions() as db:
        users = [
            (
                u.id,
                u.username,
                u.display_name,
                str(u.role),
                str(u.discipline),
                u.district_wide,
                u.is_active,
                u.password_hash,
                u.must_change_password,
                u.mfa_secret,
                u.mfa_enrolled_at,
                tuple(sorted(s.id for s in u.schools)),
                tuple(sorted(t.id for t in u.teams)),
            )
            for u in db.execute(select(User).order_by(User.id)).scalars()
        ]
        schools = [(s.id, s.name, s.code) for s in db.execute(select(School)).scalars()]
        teams = [
            (
                t.id,
                t.name,
                tuple(sorted(s.id for s in t.schools)),
                tuple(sorted(m.id for m in t.members)),
            )
            for t in db.execute(select(Team).order_by(Team.id)).scalars()
        ]
        sessions = [
            (s.id, s.user_id, s.ended_at)
            for s in db.execute(select(UserSession).order_by(UserSession.id)).scalars()
        ]
    return {"users": users, "schools": schools, "teams": teams, "sessions": sessions}


def admin_urls(app: Flask, world: World) -> list[tuple[str, str]]:
    """Every (method, url) under /admin, with real ids so a leak would really change things."""
    values = {
        "user_id": world.member_gus.user_id,
        "team_id": world.team_ids["north"],
    }
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        changes = ["disable", "enable"] if "change" in rule.arguments else [None]
        for change in changes:
            args = {name: values[name] for name in rule.arguments if name != "change"}
            if change:
                args["change"] = change
            with app.test_request_context():
                url = url_for(rule.endpoint, **args)
            for method in sorted((rule.methods or set()) & {"GET", "POST"}):
                found.append((method, url))
    return sorted(set(found))


def valid_post_for(url: str, world: World) -> dict[str, object]:
    """A well-formed submission for an admin URL, so only the permission check can stop it."""
    nhs = str(world.school_ids["NHS"])
    if url.endswith("/users/new"):
        return new_user_form(username="planted.user", school_ids=[nhs])
    if "/users/" in url and url.rstrip("/").split("/")[-1].isdigit():
        return {"display_name": "Renamed", "role": "counselor", "discipline": "", "school_ids": nhs}
    if "/teams" in url:
        return {"name": "Planted Team", "school_ids": nhs, "member_ids": []}
    if url.endswith("/schools"):
        return {"name": "Planted School", "code": "PLT"}
    return {}


# --- who may use /admin --------------------------------------------------------------------


def test_admin_sees_users_teams_and_schools(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    page = text(fay.get("/admin/"))
    for name in ("Fay Admin", "Ben Lead", "Gus Member", "Eve Auditor"):
        assert name in page
    assert "North Team" in page and "South Team" in page
    assert "North High School" in page and "South Middle School" in page


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_other_personas_cannot_open_or_use_any_admin_url(
    app: Flask, world: World, who: str
) -> None:
    """Every /admin URL, GET and POST (with a valid CSRF token), answers 403 and is audited."""
    browser = signed_in(app, world, who)
    token = csrf_token(text(browser.get("/account/")))
    urls = admin_urls(app, world)
    assert len(urls) >= 12, urls
    before = case_snapshot(app)
    denials_before = len(audit_entries(app, "access:route:denied"))
    for method, url in urls:
        if method == "GET":
            response = browser.get(url)
        else:
            response = browser.client.post(
                url, data={"csrf_token": token, **valid_post_for(url, world)}
            )
        assert response.status_code == 403, (who, method, url, response.status_code)
        assert "Not allowed" in text(response)
    assert case_snapshot(app) == before
    denials = audit_entries(app, "access:route:denied")[denials_before:]
    assert len(denials) == len(urls)
    person = world.people[who]
    for entry in denials:
        assert entry.actor_id == person.user_id
        assert entry.actor_role == str(person.role)
        assert entry.outcome == "denied"
        assert entry.object_type == "route"
        assert str(entry.object_id).startswith("admin.")


def test_the_admin_link_is_shown_only_to_the_admin(app: Flask, world: World) -> None:
    assert 'href="/admin/"' in text(signed_in(app, world, "admin_fay").get("/dashboard"))
    assert 'href="/admin/"' not in text(signed_in(app, world, "lead_ben").get("/dashboard"))


# --- creating users ------------------------------------------------------------------------


def test_admin_creates_a_user_whose_temporary_password_is_shown_once(
    app: Flask, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    fay = signed_in(app, world, "admin_fay")
    nhs = world.school_ids["NHS"]
    created = fay.submit(
        "/admin/users/new",
        new_user_form(
            username="Psych.Rowe",
            display_name="Dana Rowe",
            role="team_member",
            discipline="mental_health",
            school_ids=[str(nhs)],
        ),
    )
    assert created.status_code == 200
    page = text(created)
    assert "shown only now" in page
    temporary = temporary_password_on(page)
    assert len(temporary) >= 15
    assert "no-store" in created.headers["Cache-Control"]

    user = user_named(app, "psych.rowe")  # user names are kept in lower case
    assert user is not None
    assert user.display_name == "Dana Rowe"
    assert str(user.role) == "team_member" and str(user.discipline) == "mental_health"
    assert [s.id for s in user.schools] == [nhs] and not user.district_wide
    assert user.must_change_password and user.is_active
    assert temporary not in user.password_hash

    entry = audit_entries(app, "admin:user:created")[-1]
    assert entry.actor_id == world.admin_fay.user_id
    assert entry.object_type == "user" and entry.object_id == str(user.id)

    # Never shown again: not on any admin page, not in the audit trail, not in the logs.
    for url in ("/admin/", f"/admin/users/{user.id}", "/admin/teams/new", "/admin/schools"):
        assert temporary not in text(fay.get(url)), url
    for action in set(audit_actions(app)):
        for audited in audit_entries(app, action):
            assert temporary not in repr(vars(audited))
    assert temporary not in caplog.text


def test_a_created_user_must_replace_the_temporary_password(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    created = fay.submit(
        "/admin/users/new",
        new_user_form(username="new.teacher", school_ids=[str(world.school_ids["NHS"])]),
    )
    temporary = temporary_password_on(text(created))
    newcomer = Browser(app.test_client())
    newcomer.sign_in("new.teacher", temporary, totp_secret=None)
    for url in ("/dashboard", "/account/", "/"):
        forced = newcomer.get(url)
        assert forced.status_code == 302, url
        assert forced.headers["Location"].endswith("/account/password")
    assert "Choose your own password" in text(newcomer.get("/account/password"))
    same = newcomer.submit(
        "/account/password", {"current_password": temporary, "new_password": temporary}
    )
    assert same.status_code == 200
    assert newcomer.get("/dashboard").status_code == 302
    changed = newcomer.submit(
        "/account/password", {"current_password": temporary, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 302
    assert newcomer.get("/dashboard").status_code == 200
    assert not user_by_id(app, user_named(app, "new.teacher").id).must_change_password  # type: ignore[union-attr]


def test_a_new_team_member_must_enrol_a_second_factor(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    created = fay.submit(
        "/admin/users/new",
        new_user_form(
            username="sro.new",
            display_name="New Officer",
            role="team_member",
            discipline="law_enforcement",
            school_ids=[str(world.school_ids["NHS"])],
        ),
    )
    temporary = temporary_password_on(text(created))
    response = Browser(app.test_client()).submit(
        "/login", {"username": "sro.new", "password": temporary}
    )
    assert response.headers["Location"].endswith("/login/setup")


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (new_user_form(username="Bad Name!"), "username", "lower-case letters"),
        (new_user_form(username="ab"), "username", "between 3 and 64"),
        (new_user_form(username="jösé.garcía"), "username", "lower-case letters"),
        (new_user_form(display_name="   "), "display_name", "Enter the person's name"),
        (
            new_user_form(role="team_member", discipline=""),
            "discipline",
            "Team leads and members need a discipline",
        ),
        (
            new_user_form(role="staff", discipline="law_enforcement"),
            "discipline",
            "Only team leads and members have a discipline",
        ),
        (new_user_form(role="superuser"), "role", "Not a valid choice"),
    ],
)
def test_admin_cannot_create_a_malformed_user_and_keeps_what_was_typed(
    app: Flask, world: World, form: dict[str, object], field: str, message: str
) -> None:
    fay = signed_in(app, world, "admin_fay")
    form = {**form, "school_ids": [str(world.school_ids["NHS"])]}
    users_before = count(app, User)
    actions_before = audit_actions(app)
    response = fay.submit("/admin/users/new", form)
    assert response.status_code == 200
    page = text(response)
    error = field_error(page, field)
    assert error is not None and message in error, (field, error)
    assert 'aria-invalid="true"' in page or field == "school_ids"
    # What was typed is still in the form.
    if str(form["display_name"]).strip():
        assert f'value="{form["display_name"]}"' in page
    assert f'value="{form["username"]}"' in page
    assert re.search(
        rf'value="{world.school_ids["NHS"]}"[^>]*checked|checked[^>]*value="{world.school_ids["NHS"]}"',
        page,
    )
    assert count(app, User) == users_before
    assert audit_actions(app) == actions_before


def test_admin_cannot_create_a_user_without_a_school_or_the_whole_district(
    app: Flask, world: World
) -> None:
    fay = signed_in(app, world, "admin_fay")
    response = fay.submit("/admin/users/new", new_user_form(display_name="No Scope"))
    page = text(response)
    error = field_error(page, "school_ids")
    assert error and "Choose at least one school, or the whole district" in error
    assert 'value="No Scope"' in page
    assert user_named(app, "new.person") is None
    whole = fay.submit("/admin/users/new", new_user_form(district_wide="y"))
    assert "shown only now" in text(whole)
    created = user_named(app, "new.person")
    assert created is not None and created.district_wide


@pytest.mark.parametrize("typed", ["member_gus", "MEMBER_GUS", " member_gus "])
def test_admin_cannot_create_a_second_user_with_a_taken_name(
    app: Flask, world: World, typed: str
) -> None:
    fay = signed_in(app, world, "admin_fay")
    response = fay.submit(
        "/admin/users/new",
        new_user_form(username=typed, display_name="Impostor", district_wide="y"),
    )
    assert response.status_code == 200
    page = text(response)
    error = field_error(page, "username")
    assert error and "taken" in error
    assert 'value="Impostor"' in page
    gus = user_by_id(app, world.member_gus.user_id)
    assert gus.display_name == "Gus Member"
    assert count(app, User) == len(world.people)


def test_admin_cannot_give_a_user_a_school_that_does_not_exist(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    response = fay.submit("/admin/users/new", new_user_form(school_ids=["987654"]))
    assert response.status_code == 200
    assert field_error(text(response), "school_ids")
    assert user_named(app, "new.person") is None


# --- editing users -------------------------------------------------------------------------


def test_admin_changes_role_discipline_and_schools_and_the_users_sessions_end(
    app: Flask, world: World
) -> None:
    gus_browser = signed_in(app, world, "member_gus")
    fay = signed_in(app, world, "admin_fay")
    gus_id = world.member_gus.user_id
    sms = world.school_ids["SMS"]
    edit_page = text(fay.get(f"/admin/users/{gus_id}"))
    assert 'value="Gus Member"' in edit_page
    response = fay.submit(
        f"/admin/users/{gus_id}",
        {
            "display_name": "Gus Member",
            "role": "team_lead",
            "discipline": "other",
            "school_ids": [str(sms)],
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/users/{gus_id}")
    gus = user_by_id(app, gus_id)
    assert str(gus.role) == "team_lead" and str(gus.discipline) == "other"
    assert [s.id for s in gus.schools] == [sms]
    assert "Saved." in text(fay.get(f"/admin/users/{gus_id}"))
    # The open session of the user ends at once: it must not keep the old rights.
    ended = gus_browser.get("/dashboard")
    assert ended.status_code == 302 and "/login" in ended.headers["Location"]
    assert live_sessions(app, gus_id) == 0
    entry = audit_entries(app, "admin:user:updated")[-1]
    assert entry.actor_id == world.admin_fay.user_id and entry.object_id == str(gus_id)
    # The admin's own session is untouched.
    assert fay.get("/admin/").status_code == 200


def test_renaming_a_user_alone_keeps_their_session(app: Flask, world: World) -> None:
    gus_browser = signed_in(app, world, "member_gus")
    fay = signed_in(app, world, "admin_fay")
    gus_id = world.member_gus.user_id
    fay.submit(
        f"/admin/users/{gus_id}",
        {
            "display_name": "Gustav Member",
            "role": "team_member",
            "discipline": "mental_health",
            "school_ids": [str(world.school_ids["NHS"])],
        },
    )
    assert user_by_id(app, gus_id).display_name == "Gustav Member"
    assert gus_browser.get("/dashboard").status_code == 200
    assert "admin:user:updated" in audit_actions(app)


def test_a_member_who_becomes_a_counselor_leaves_their_team(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    hal_id = world.officer_hal.user_id
    response = fay.submit(
        f"/admin/users/{hal_id}",
        {"display_name": "Hal Officer", "role": "counselor", "discipline": "", "school_ids": []},
    )
    # No school chosen and not district-wide: refused, nothing changed.
    assert response.status_code == 200
    assert "Choose at least one school" in (field_error(text(response), "school_ids") or "")
    assert str(user_by_id(app, hal_id).role) == "team_member"
    response = fay.submit(
        f"/admin/users/{hal_id}",
        {
            "display_name": "Hal Officer",
            "role": "counselor",
            "discipline": "",
            "school_ids": [str(world.school_ids["NHS"])],
        },
    )
    assert response.status_code == 302
    assert hal_id not in [m.id for m in team_by_id(app, world.team_ids["north"]).members]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"role": "team_member", "discipline": ""}, "discipline", "need a discipline"),
        ({"role": "staff", "discipline": "mental_health"}, "discipline", "Only team leads"),
        ({"display_name": ""}, "display_name", "This field is required"),
        ({"display_name": "x" * 201}, "display_name", "200"),
    ],
)
def test_admin_cannot_save_a_malformed_edit(
    app: Flask, world: World, changes: dict[str, object], field: str, message: str
) -> None:
    gus_browser = signed_in(app, world, "member_gus")
    fay = signed_in(app, world, "admin_fay")
    gus_id = world.member_gus.user_id
    before = case_snapshot(app)
    form: dict[str, object] = {
        "display_name": "Typed Name",
        "role": "team_member",
        "discipline": "mental_health",
        "school_ids": [str(world.school_ids["NHS"])],
        **changes,
    }
    response = fay.submit(f"/admin/users/{gus_id}", form)
    assert response.status_code == 200
    page = text(response)
    error = field_error(page, field)
    assert error and message in error, error
    if form["display_name"] == "Typed Name":
        assert 'value="Typed Name"' in page
    assert case_snapshot(app) == before
    assert gus_browser.get("/dashboard").status_code == 200


def test_admin_cannot_rename_a_user_name_through_the_edit_form(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    gus_id = world.member_gus.user_id
    fay.submit(
        f"/admin/users/{gus_id}",
        {
            "username": "admin_fay",
            "display_name": "Gus Member",
            "role": "team_member",
            "discipline": "mental_health",
            "school_ids": [str(world.school_ids["NHS"])],
        },
    )
    assert user_by_id(app, gus_id).username == "member_gus"


def test_admin_gets_404_for_a_user_or_team_that_does_not_exist(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    assert fay.get("/admin/users/987654").status_code == 404
    assert fay.get("/admin/teams/987654").status_code == 404
    token = csrf_token(text(fay.get("/admin/")))
    for action in ("disable", "enable", "reset-password", "reset-two-step"):
        response = fay.client.post(f"/admin/users/987654/{action}", data={"csrf_token": token})
        assert response.status_code == 404, action


# --- disable, enable, resets ---------------------------------------------------------------


def test_admin_disables_and_enables_a_user(app: Flask, world: World) -> None:
    gus = world.member_gus
    gus_browser = signed_in(app, world, "member_gus")
    fay = signed_in(app, world, "admin_fay")
    done = fay.post_button(f"/admin/users/{gus.user_id}", f"/admin/users/{gus.user_id}/disable")
    assert done.status_code == 302
    page = text(fay.get(f"/admin/users/{gus.user_id}"))
    assert "sessions have ended" in page and "Disabled" in page
    assert not user_by_id(app, gus.user_id).is_active
    assert gus_browser.get("/dashboard").status_code == 302
    refused = Browser(app.test_client()).submit(
        "/login", {"username": gus.username, "password": gus.password}
    )
    assert "The user name or password is not right" in text(refused)
    assert audit_entries(app, "admin:user:disabled")[-1].object_id == str(gus.user_id)

    fay.post_button(f"/admin/users/{gus.user_id}", f"/admin/users/{gus.user_id}/enable")
    assert user_by_id(app, gus.user_id).is_active
    assert audit_entries(app, "admin:user:enabled")[-1].object_id == str(gus.user_id)
    back = Browser(app.test_client()).submit(
        "/login", {"username": gus.username, "password": gus.password}
    )
    assert back.headers["Location"].endswith("/login/code")


def test_admin_cannot_disable_their_own_account(app: Flask, world: World) -> None:
    fay_id = world.admin_fay.user_id
    fay = signed_in(app, world, "admin_fay")
    response = fay.post_button(f"/admin/users/{fay_id}", f"/admin/users/{fay_id}/disable")
    assert response.status_code == 302
    assert "You cannot disable your own account" in text(fay.get(f"/admin/users/{fay_id}"))
    assert user_by_id(app, fay_id).is_active
    assert "admin:user:disabled" not in audit_actions(app)


def test_admin_resets_a_password_and_the_old_one_stops_working(app: Flask, world: World) -> None:
    cam = world.teacher_cam
    cam_browser = signed_in(app, world, "teacher_cam")
    fay = signed_in(app, world, "admin_fay")
    response = fay.post_button(
        f"/admin/users/{cam.user_id}", f"/admin/users/{cam.user_id}/reset-password"
    )
    assert response.status_code == 200
    page = text(response)
    assert "Password reset" in page and "shown only now" in page
    assert "no-store" in response.headers["Cache-Control"]
    temporary = temporary_password_on(page)
    assert temporary not in text(fay.get(f"/admin/users/{cam.user_id}"))
    # The open session ends, the old password is refused, the temporary one must be replaced.
    assert cam_browser.get("/dashboard").status_code == 302
    old = Browser(app.test_client()).submit(
        "/login", {"username": cam.username, "password": cam.password}
    )
    assert "The user name or password is not right" in text(old)
    fresh = Browser(app.test_client())
    fresh.sign_in(cam.username, temporary, totp_secret=None)
    assert fresh.get("/dashboard").headers["Location"].endswith("/account/password")
    entry = audit_entries(app, "admin:user:password_reset")[-1]
    assert entry.actor_id == world.admin_fay.user_id and entry.object_id == str(cam.user_id)


def test_admin_resets_two_step_and_the_user_enrols_again(app: Flask, world: World) -> None:
    ben = world.lead_ben
    ben_browser = signed_in(app, world, "lead_ben")
    fay = signed_in(app, world, "admin_fay")
    response = fay.post_button(
        f"/admin/users/{ben.user_id}", f"/admin/users/{ben.user_id}/reset-two-step"
    )
    assert response.status_code == 302
    assert "sets it up at the next sign-in" in text(fay.get(f"/admin/users/{ben.user_id}"))
    assert not user_by_id(app, ben.user_id).mfa_enrolled
    assert ben_browser.get("/dashboard").status_code == 302
    again = Browser(app.test_client())
    response = again.submit("/login", {"username": ben.username, "password": ben.password})
    assert response.headers["Location"].endswith("/login/setup")
    # The old authenticator no longer opens anything.
    assert again.get("/login/code").status_code == 302
    assert again.get("/dashboard").status_code == 302
    entry = audit_entries(app, "admin:user:mfa_reset")[-1]
    assert entry.actor_id == world.admin_fay.user_id and entry.object_id == str(ben.user_id)


# --- teams ---------------------------------------------------------------------------------


def test_admin_creates_a_team(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    sms = world.school_ids["SMS"]
    members = [world.outsider_dee.user_id, world.officer_hal.user_id]
    response = fay.submit(
        "/admin/teams/new",
        {"name": "Middle School Team", "school_ids": [str(sms)], "member_ids": members},
    )
    assert response.status_code == 302
    team_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    team = team_by_id(app, team_id)
    assert team.name == "Middle School Team"
    assert [s.id for s in team.schools] == [sms]
    assert sorted(m.id for m in team.members) == sorted(members)
    entry = audit_entries(app, "admin:team:created")[-1]
    assert entry.actor_id == world.admin_fay.user_id and entry.object_id == str(team_id)
    assert "Middle School Team" in text(fay.get("/admin/"))


def test_only_team_leads_and_members_are_offered_as_team_members(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    page = fieldset(text(fay.get("/admin/teams/new")), "Members")
    for offered in ("Ben Lead", "Gus Member", "Hal Officer", "Dee Outsider"):
        assert offered in page
    for not_offered in ("Ana Counselor", "Cam Teacher", "Eve Auditor", "Fay Admin"):
        assert not_offered not in page


@pytest.mark.parametrize("who", ["counselor_ana", "teacher_cam", "auditor_eve", "admin_fay"])
def test_admin_cannot_put_a_non_team_role_on_a_team(app: Flask, world: World, who: str) -> None:
    fay = signed_in(app, world, "admin_fay")
    before = case_snapshot(app)
    response = fay.submit(
        "/admin/teams/new",
        {
            "name": "Crafted Team",
            "school_ids": [str(world.school_ids["NHS"])],
            "member_ids": [str(world.lead_ben.user_id), str(world.people[who].user_id)],
        },
    )
    assert response.status_code == 200
    assert field_error(text(response), "member_ids")
    assert 'value="Crafted Team"' in text(response)
    assert case_snapshot(app) == before


def test_admin_cannot_create_a_team_without_a_school(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    response = fay.submit(
        "/admin/teams/new", {"name": "Schoolless", "member_ids": [str(world.lead_ben.user_id)]}
    )
    assert response.status_code == 200
    page = text(response)
    error = field_error(page, "school_ids")
    assert error and "at least one school" in error
    assert 'value="Schoolless"' in page
    assert count(app, Team) == 2


def test_admin_cannot_create_a_team_with_a_taken_name(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    response = fay.submit(
        "/admin/teams/new",
        {"name": "north team", "school_ids": [str(world.school_ids["NHS"])]},
    )
    assert response.status_code == 200
    assert "A team with that name exists" in text(response)
    assert count(app, Team) == 2


def test_admin_edits_a_team_and_members_who_leave_are_signed_out(app: Flask, world: World) -> None:
    hal_browser = signed_in(app, world, "officer_hal")
    gus_browser = signed_in(app, world, "member_gus")
    fay = signed_in(app, world, "admin_fay")
    north = world.team_ids["north"]
    page = text(fay.get(f"/admin/teams/{north}"))
    assert 'value="North Team"' in page
    response = fay.submit(
        f"/admin/teams/{north}",
        {
            "name": "North Team (renamed)",
            "school_ids": [str(world.school_ids["NHS"]), str(world.school_ids["SMS"])],
            "member_ids": [str(world.lead_ben.user_id), str(world.member_gus.user_id)],
        },
    )
    assert response.status_code == 302
    team = team_by_id(app, north)
    assert team.name == "North Team (renamed)"
    assert len(team.schools) == 2
    assert sorted(m.id for m in team.members) == sorted(
        [world.lead_ben.user_id, world.member_gus.user_id]
    )
    assert hal_browser.get("/dashboard").status_code == 302
    assert gus_browser.get("/dashboard").status_code == 200
    entry = audit_entries(app, "admin:team:updated")[-1]
    assert entry.actor_id == world.admin_fay.user_id and entry.object_id == str(north)


# --- schools -------------------------------------------------------------------------------


def test_admin_adds_a_school(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    response = fay.submit("/admin/schools", {"name": "East Elementary", "code": "ees"})
    assert response.status_code == 302
    page = text(fay.get("/admin/schools"))
    assert "School added." in page and "East Elementary" in page and "EES" in page
    assert count(app, School) == 3
    assert audit_entries(app, "admin:school:created")[-1].actor_id == world.admin_fay.user_id


@pytest.mark.parametrize(
    "form",
    [
        {"name": "Another North", "code": "NHS"},
        {"name": "Another North", "code": " nhs "},
        {"name": "north high school", "code": "NEW"},
    ],
)
def test_admin_cannot_add_a_school_whose_code_or_name_is_taken(
    app: Flask, world: World, form: dict[str, str]
) -> None:
    fay = signed_in(app, world, "admin_fay")
    actions_before = audit_actions(app)
    response = fay.submit("/admin/schools", form)
    assert response.status_code == 200
    assert "A school with that name or code exists" in text(response)
    assert f'value="{form["name"]}"' in text(response)
    assert count(app, School) == 2
    assert audit_actions(app) == actions_before


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": "Bad Code", "code": "N H S"}, "code"),
        ({"name": "Bad Code", "code": "X"}, "code"),
        ({"name": "Bad Code", "code": "<b>"}, "code"),
        ({"name": "", "code": "OK1"}, "name"),
        ({"name": "   ", "code": "OK1"}, "name"),
    ],
)
def test_admin_cannot_add_a_malformed_school(
    app: Flask, world: World, form: dict[str, str], field: str
) -> None:
    fay = signed_in(app, world, "admin_fay")
    response = fay.submit("/admin/schools", form)
    assert response.status_code == 200
    assert field_error(text(response), field)
    assert count(app, School) == 2


# --- what is shown, and hostile input ------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_html_in_names_is_shown_escaped(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    created = fay.submit(
        "/admin/users/new",
        new_user_form(
            username="xss.member",
            display_name=SCRIPT,
            role="team_member",
            discipline="other",
            school_ids=[str(world.school_ids["NHS"])],
        ),
    )
    temporary = temporary_password_on(text(created))
    fay.submit(
        "/admin/teams/new",
        {
            "name": '<img src=x onerror="alert(2)">',
            "school_ids": [str(world.school_ids["NHS"])],
            "member_ids": [],
        },
    )
    fay.submit("/admin/schools", {"name": "<svg onload=alert(3)>", "code": "SVG"})
    user = user_named(app, "xss.member")
    assert user is not None and user.display_name == SCRIPT  # stored as typed
    pages = {
        url: text(fay.get(url))
        for url in ("/admin/", f"/admin/users/{user.id}", "/admin/teams/new", "/admin/schools")
    }
    for url, page in pages.items():
        assert SCRIPT not in page, url
        assert "<img src=x" not in page and "<svg onload" not in page, url
    assert ESCAPED in pages["/admin/"]
    assert ESCAPED in pages[f"/admin/users/{user.id}"]
    assert ESCAPED in pages["/admin/teams/new"]  # the member checkbox label
    assert "&lt;svg onload=alert(3)&gt;" in pages["/admin/schools"]
    assert temporary
    # The user's own pages show their name escaped too (staff: signed in by password alone).
    staff = fay.submit(
        "/admin/users/new",
        new_user_form(username="xss.staff", display_name=SCRIPT, district_wide="y"),
    )
    own = Browser(app.test_client())
    own.sign_in("xss.staff", temporary_password_on(text(staff)), totp_secret=None)
    page = text(own.get("/account/password"))
    assert ESCAPED in page and SCRIPT not in page


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (new_user_form(username="a" * 10_000), "username"),
        (new_user_form(display_name="D" * 10_000), "display_name"),
        (new_user_form(display_name="é" * 201), "display_name"),
    ],
)
def test_admin_gets_a_clear_error_for_overlong_user_fields(
    app: Flask, world: World, form: dict[str, object], field: str
) -> None:
    fay = signed_in(app, world, "admin_fay")
    before = case_snapshot(app)
    response = fay.submit("/admin/users/new", {**form, "district_wide": "y"})
    assert response.status_code == 200
    error = field_error(text(response), field)
    assert error and re.search(r"longer than|between \d+ and \d+ characters", error), error
    assert case_snapshot(app) == before


@pytest.mark.parametrize(
    ("url", "form", "field"),
    [
        ("/admin/schools", {"name": "S" * 5000, "code": "LONG"}, "name"),
        ("/admin/schools", {"name": "Long Code", "code": "C" * 5000}, "code"),
        ("/admin/teams/new", {"name": "T" * 5000}, "name"),
    ],
)
def test_admin_gets_a_clear_error_for_overlong_team_and_school_fields(
    app: Flask, world: World, url: str, form: dict[str, object], field: str
) -> None:
    fay = signed_in(app, world, "admin_fay")
    before = case_snapshot(app)
    data = dict(form)
    if url.startswith("/admin/teams"):
        data["school_ids"] = [str(world.school_ids["NHS"])]
    response = fay.submit(url, data)
    assert response.status_code == 200
    error = field_error(text(response), field)
    assert error and re.search(r"longer than|between \d+ and \d+ characters", error), error
    assert case_snapshot(app) == before


def test_a_body_over_the_limit_is_refused_with_413(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    before = case_snapshot(app)
    response = fay.submit(
        "/admin/users/new", new_user_form(display_name="x" * (2 * 1024 * 1024), district_wide="y")
    )
    assert response.status_code == 413
    assert "larger than the system accepts" in text(response)
    assert case_snapshot(app) == before


UNICODE_NAMES = [
    "Zoë Ñandú-Lefèvre",
    "李小龍",
    "Ὀδυσσεύς",
    "أحمد الفارسي",
    "🧑\u200d🏫 Teacher",
    "Name\u202eesrever",
    "A\u0301ngstro\u0308m",  # combining marks: kept as typed, not normalised
    "😀" * 200,
]


@pytest.mark.parametrize("name", UNICODE_NAMES)
def test_unicode_display_names_are_stored_intact(app: Flask, world: World, name: str) -> None:
    fay = signed_in(app, world, "admin_fay")
    response = fay.submit("/admin/users/new", new_user_form(display_name=name, district_wide="y"))
    assert response.status_code == 200, text(response)[:500]
    user = user_named(app, "new.person")
    assert user is not None and user.display_name == name
    assert name in text(fay.get("/admin/"))


@pytest.mark.parametrize("name", ["École Élémentaire Saint-Exupéry", "学校 第一", "Ş" * 200])
def test_unicode_school_names_are_stored_intact(app: Flask, world: World, name: str) -> None:
    fay = signed_in(app, world, "admin_fay")
    response = fay.submit("/admin/schools", {"name": name, "code": "UNI"})
    assert response.status_code == 302
    assert name in text(fay.get("/admin/schools"))


@pytest.mark.parametrize(
    ("url", "form", "stored"),
    [
        ("/admin/users/new", new_user_form(display_name="Nul\x00Byte", district_wide="y"), "user"),
        ("/admin/users/new", new_user_form(username="nul\x00byte", district_wide="y"), None),
        ("/admin/schools", {"name": "Nul\x00School", "code": "NUL"}, "school"),
        ("/admin/schools", {"name": "Nul Code", "code": "N\x00L"}, None),
        ("/admin/teams/new", {"name": "Nul\x00Team"}, "team"),
    ],
)
def test_nul_bytes_are_refused_clearly_or_stored_intact_never_a_500(
    app: Flask, world: World, url: str, form: dict[str, object], stored: str | None
) -> None:
    fay = signed_in(app, world, "admin_fay")
    data = dict(form)
    if url.startswith("/admin/teams"):
        data["school_ids"] = [str(world.school_ids["NHS"])]
    before = case_snapshot(app)
    actions_before = audit_actions(app)
    response = fay.submit(url, data)
    after = case_snapshot(app)
    assert response.status_code in {200, 302}, (
        response.status_code,
        "nothing stored" if after == before else "something stored",
    )
    if after == before:
        # Refused: the page says why, next to a field or in a message, and nothing is recorded.
        assert response.status_code == 200
        assert 'class="error"' in text(response) or 'class="flash flash-error"' in text(response)
        assert audit_actions(app) == actions_before
    else:
        assert stored is not None
        typed = next(v for v in data.values() if isinstance(v, str) and "\x00" in v)
        flat = repr(after)
        assert repr(typed)[1:-1] in flat  # stored whole, not cut at the NUL


def test_invalid_utf8_in_a_form_is_not_a_500(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    token = csrf_token(text(fay.get("/admin/users/new")))
    body = (
        "csrf_token="
        + token
        + "&username=bad%FF%FEname&display_name=%C3%28%FF%FE&role=staff&district_wide=y"
    ).encode("ascii")
    response = fay.client.post(
        "/admin/users/new", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in {200, 400}
    assert user_named(app, "bad\ufffd\ufffdname") is None


@pytest.mark.parametrize("huge", [2**31, 2**63, 10**20])
def test_admin_gets_404_not_500_for_ids_beyond_the_database(
    app: Flask, world: World, huge: int
) -> None:
    fay = signed_in(app, world, "admin_fay")
    assert fay.get(f"/admin/users/{huge}").status_code == 404
    assert fay.get(f"/admin/teams/{huge}").status_code == 404
    token = csrf_token(text(fay.get("/admin/")))
    response = fay.client.post(f"/admin/users/{huge}/disable", data={"csrf_token": token})
    assert response.status_code == 404


def test_bogus_checkbox_values_are_refused_clearly(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    before = case_snapshot(app)
    response = fay.submit(
        "/admin/users/new",
        new_user_form(school_ids=["abc", "-1", str(10**30), *map(str, range(2000))]),
    )
    assert response.status_code == 200
    assert field_error(text(response), "school_ids")
    response = fay.submit(
        "/admin/teams/new",
        {"name": "Bogus", "school_ids": [str(world.school_ids["NHS"])], "member_ids": ["x", "-5"]},
    )
    assert response.status_code == 200
    assert field_error(text(response), "member_ids")
    assert case_snapshot(app) == before


def test_admin_cannot_take_away_their_own_administrator_role(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    response = fay.submit(
        f"/admin/users/{world.admin_fay.user_id}",
        {"display_name": "Fay Admin", "role": "auditor", "discipline": "", "district_wide": "y"},
    )
    assert response.status_code == 200
    assert "You cannot take away your own administrator role." in response.get_data(as_text=True)
    assert fay.get("/admin/").status_code == 200


def test_editing_a_team_keeps_a_disabled_member(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    gus_id = world.member_gus.user_id
    fay.post_button(f"/admin/users/{gus_id}", f"/admin/users/{gus_id}/disable")
    team_id = world.team_ids["north"]
    page = fay.get(f"/admin/teams/{team_id}").get_data(as_text=True)
    assert "Gus Member — Team member, Mental health (disabled)" in page
    checked = re.findall(
        r'<input checked id="member_ids-\d+" name="member_ids" '
        r'type="checkbox" value="(\d+)">',
        page,
    )
    assert str(gus_id) in checked
    members = [int(m) for m in checked]
    fay.submit(
        f"/admin/teams/{team_id}",
        {
            "name": "North Team",
            "school_ids": str(world.school_ids["NHS"]),
            "member_ids": [str(m) for m in members],
        },
    )
    with app.extensions["btam"].stores.case_sessions() as db:
        team = db.get(Team, team_id)
        assert team is not None and gus_id in {m.id for m in team.members}


def test_a_duplicate_school_is_reported_next_to_the_name(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    response = fay.submit("/admin/schools", {"name": "North High School", "code": "NEW"})
    html = response.get_data(as_text=True)
    assert 'id="name-error"' in html
    assert "A school with that name or code exists." in html


# --- the password again before a change ----------------------------------------------------

CONFIRM = "/account/confirm-password"


def admin_forms(app: Flask, world: World) -> list[tuple[str, str, dict[str, object]]]:
    """(endpoint, URL, a complete valid form) of every POST route under /admin/: walked from
    the app's routes, so a new one is covered without editing this test."""
    nhs = str(world.school_ids["NHS"])
    forms: dict[str, dict[str, object]] = {
        "admin.new_user": {
            "username": "new.admin",
            "display_name": "New Admin",
            "role": "district_admin",
            "discipline": "",
            "district_wide": "y",
        },
        "admin.edit_user": {
            "display_name": "Cam Renamed",
            "role": "district_admin",
            "discipline": "",
            "district_wide": "y",
        },
        "admin.team": {"name": "Another Team", "school_ids": [nhs], "member_ids": []},
        "admin.schools": {"name": "East Elementary", "code": "EES"},
    }
    values = {"user_id": world.teacher_cam.user_id, "team_id": world.team_ids["north"]}
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin/") or "POST" not in (rule.methods or set()):
            continue
        for change in ("disable", "enable") if "change" in rule.arguments else (None,):
            args: dict[str, object] = {n: values[n] for n in rule.arguments if n != "change"}
            if change:
                args["change"] = change
            with app.test_request_context():
                url = url_for(rule.endpoint, **args)
            found.append((rule.endpoint, url, forms.get(rule.endpoint, {})))
    return sorted(found, key=lambda f: f[1])


def test_every_admin_change_asks_for_the_password_after_fifteen_minutes(
    app: Flask, world: World
) -> None:
    fay = signed_in(app, world, "admin_fay")
    token = csrf_token(text(fay.get("/account/")))
    age_reauthentication(app, world.admin_fay.user_id, timedelta(minutes=16))
    before, actions_before = case_store_digest(app), audit_actions(app)
    routes = admin_forms(app, world)
    assert len(routes) >= 9
    for endpoint, url, form in routes:
        response = fay.client.post(url, data={"csrf_token": token, **form})
        assert response.status_code == 302, (endpoint, response.status_code)
        where = urlsplit(response.headers["Location"])
        assert where.path == CONFIRM, (endpoint, response.headers["Location"])
        back = parse_qs(where.query)["next"][0]
        assert fay.get(back).status_code == 200, (endpoint, back)
    assert case_store_digest(app) == before
    assert audit_actions(app) == actions_before


def test_after_confirming_the_password_the_admin_comes_back_and_the_change_works(
    app: Flask, world: World
) -> None:
    cam = world.teacher_cam
    fay = signed_in(app, world, "admin_fay")
    age_reauthentication(app, world.admin_fay.user_id, timedelta(minutes=16))
    asked = fay.post_button(f"/admin/users/{cam.user_id}", f"/admin/users/{cam.user_id}/disable")
    assert user_by_id(app, cam.user_id).is_active
    page = fay.get(asked.headers["Location"])
    assert page.status_code == 200
    assert "Enter your password again" in text(page)
    wrong = fay.submit(asked.headers["Location"], {"current_password": "not my password at all"})
    assert wrong.status_code == 400 and "Your password is not right." in text(wrong)
    confirmed = fay.submit(
        asked.headers["Location"], {"current_password": world.admin_fay.password}
    )
    assert confirmed.headers["Location"] == f"/admin/users/{cam.user_id}"
    fay.post_button(f"/admin/users/{cam.user_id}", f"/admin/users/{cam.user_id}/disable")
    assert not user_by_id(app, cam.user_id).is_active
    assert [e.actor_id for e in audit_entries(app, "auth:reauth:success")] == [
        world.admin_fay.user_id
    ]
    assert len(audit_entries(app, "auth:reauth:failure")) == 1


def test_the_confirmation_page_never_sends_anyone_off_site(app: Flask, world: World) -> None:
    fay = signed_in(app, world, "admin_fay")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        confirmed = fay.submit(
            f"{CONFIRM}?next={target}", {"current_password": world.admin_fay.password}
        )
        assert confirmed.headers["Location"].endswith("/account/"), target


def test_the_admin_services_refuse_a_stale_session_but_not_the_command_line(
    app: Flask, world: World
) -> None:
    fay = signed_in(app, world, "admin_fay")
    with fay.client.session_transaction() as session:
        session_token = session["_user_id"]
    age_reauthentication(app, world.admin_fay.user_id, timedelta(minutes=16))
    rt = app.extensions["btam"]
    db = rt.stores.case_write_sessions()
    try:
        admin = actor_for(db.get(User, world.admin_fay.user_id), session_token)
        ctx = rt.context(db, AuditContext.system(), admin)
        for change in (
            lambda: users.set_user_active(ctx, user_id=world.teacher_cam.user_id, active=False),
            lambda: users.reset_password(ctx, user_id=world.teacher_cam.user_id),
            lambda: organisation.create_school(ctx, name="East Elementary", code="EES"),
            lambda: organisation.set_team_active(
                ctx, team_id=world.team_ids["north"], active=False
            ),
        ):
            with pytest.raises(ReauthenticationRequired):
                change()
            db.rollback()
    finally:
        db.close()
    system = system_ctx(app)
    try:
        carry_out(
            system,
            users.set_user_active(system, user_id=world.teacher_cam.user_id, active=False),
        )
    finally:
        system.db.close()
    assert not user_by_id(app, world.teacher_cam.user_id).is_active
