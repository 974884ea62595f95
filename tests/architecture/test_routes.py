"""Every route is either public on purpose or guarded by a permission; nothing in between."""

from __future__ import annotations

from flask import Flask

from btam.web import PUBLIC_ENDPOINTS
from tests.support.personas import World
from tests.support.web import Browser


def _view_functions(app: Flask) -> dict[str, object]:
    return {rule.endpoint: app.view_functions[rule.endpoint] for rule in app.url_map.iter_rules()}


def test_every_route_is_public_or_requires_a_permission(app: Flask) -> None:
    unguarded = []
    for endpoint, view in _view_functions(app).items():
        if endpoint == "static":
            continue
        public = getattr(view, "is_public", False)
        guarded = getattr(view, "required_permission", None) is not None
        if public == guarded:
            unguarded.append(endpoint)
    assert unguarded == [], f"routes neither public nor guarded (or both): {unguarded}"


def test_the_public_list_and_the_public_marks_agree(app: Flask) -> None:
    marked = {
        endpoint
        for endpoint, view in _view_functions(app).items()
        if getattr(view, "is_public", False)
    }
    assert marked | {"static"} == set(PUBLIC_ENDPOINTS)


def _concrete_urls(app: Flask) -> list[tuple[str, str]]:
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {name: ("disable" if name == "change" else 1) for name in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            urls.append((method, url))
    return urls


def test_a_visitor_reaches_only_the_public_pages(app: Flask, world: World) -> None:
    client = app.test_client()
    public_paths = {"/healthz", "/login", "/tip", "/tip/follow-up"}
    for method, url in _concrete_urls(app):
        response = client.open(url, method=method)
        if url in public_paths:
            assert response.status_code in {200, 400}, (method, url, response.status_code)
        elif method == "POST":
            # Refused before any work: no CSRF token (400) or no session (302 to sign-in).
            assert response.status_code in {302, 400}, (method, url, response.status_code)
        else:
            assert response.status_code == 302, (method, url, response.status_code)
            assert "/login" in response.headers["Location"]


def test_signed_in_roles_get_403_outside_their_permissions(app: Flask, world: World) -> None:
    """Every guarded GET route, for every persona: allowed roles get a page, others 403."""
    from btam.access.permissions import role_has

    guarded = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        permission = getattr(view, "required_permission", None)
        if permission is not None and "GET" in (rule.methods or set()):
            guarded.append((rule, permission))
    for name, person in world.people.items():
        browser = Browser(app.test_client())
        browser.sign_in(person.username, person.password, totp_secret=person.totp_secret)
        for rule, permission in guarded:
            with app.test_request_context():
                from flask import url_for

                url = url_for(rule.endpoint, **{a: 1 for a in rule.arguments})
            status = browser.get(url).status_code
            if role_has(person.role, permission):
                assert status in {200, 302, 404}, (name, url, status)
            else:
                assert status == 403, (name, url, status)
