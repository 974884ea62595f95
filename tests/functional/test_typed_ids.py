"""Ids and page numbers as an attacker types them: Unicode digits (superscript, Arabic-Indic,
fullwidth), signs, spaces, underscores, leading zeros and numbers too large for any column.

Every id and page number from a URL, a query string or a form is read by one parser
(``btam.ids.parse_id``, also behind the ``<int:...>`` URL converter and the forms' integer
fields): only ASCII digits within a column's range name a record; anything else is a 400 or a
404, never a server error and never another record.

The property tests walk ``app.url_map`` and every form's integer fields, so a route or a form
added later is fed the same values without anyone listing it here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule
from werkzeug.test import TestResponse
from wtforms import Form, IntegerField
from wtforms.fields import FieldList, SelectFieldBase
from wtforms.fields.core import UnboundField

import btam.accounts.forms
import btam.audit.forms
import btam.cases.forms
import btam.intake.forms
import btam.people.forms  # noqa: F401  (the forms below are found by walking Form's subclasses)
from btam.ids import MAX_ID, parse_id, record_id
from tests.support.cases import Seeded, seed_cases
from tests.support.personas import World
from tests.support.web import Browser, csrf_token, signed_in

# Query parameters that are numbers but no form's field (the trail's page number).
QUERY_NUMBERS = ("page",)
# Personas whose pages together reach every route: the team, the district, the auditors and
# a visitor (the tip line).
PERSONAS = ("lead_ben", "admin_fay", "auditor_eve", "visitor")
# Any id at or above this names nothing in the seeded world: a value that parses to one is
# still hostile (leading zeros) but changes nothing.
NOTHING_AT = 900_000
UNICODE_DIGITS = "²³¹٣۳३০੩૩୩௩౩೩൩๓໓༣၃႓០᠓３𝟑𝟛𝟥𝟯𝟹⑶⒊①Ⅲ"

CORPUS = (
    "²",
    "٣",
    "３",
    "𝟗𝟗",
    "+1",
    "-1",
    " 1",
    "1 ",
    "1_0",
    "0x1",
    "1e3",
    "0",
    "",
    "0000999999",
    "00000000000999999",
    "2147483648",
    "9" * 40,
    "1" * 5000,
)
# What every route gets in every integer parameter; the generated values reach the rest.
SWEEP = ("²", "٣", "+1", "9" * 40)


def _ints_of_any_size() -> st.SearchStrategy[str]:
    return st.integers(min_value=MAX_ID + 1, max_value=10**60).map(str)


hostile_number = st.one_of(
    st.sampled_from(CORPUS),
    st.text(st.sampled_from(UNICODE_DIGITS), min_size=1, max_size=6),
    st.text(st.characters(categories=("Nd", "No", "Nl")), min_size=1, max_size=6),
    st.builds(
        lambda sign, n: f"{sign}{n}",
        st.sampled_from(["+", "-", " ", "\t", "\u00a0", "_", "0x", "\u2212"]),
        st.integers(min_value=0, max_value=10**12),
    ),
    st.builds(lambda zeros, n: "0" * zeros + str(n), st.integers(1, 12), st.integers(0, 10**9)),
    _ints_of_any_size(),
    st.text(max_size=12),
).filter(lambda text: (parse_id(text) or MAX_ID) >= NOTHING_AT)

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --------------------------------------------------------------------------- what to feed


def _forms() -> Iterator[type[Form]]:
    stack = list(Form.__subclasses__())
    while stack:
        form = stack.pop()
        stack.extend(form.__subclasses__())
        if form.__module__.startswith("btam."):
            yield form


def _is_number_field(name: str, field: UnboundField) -> bool:
    kind = field.field_class
    coerce = field.kwargs.get("coerce")
    return (
        issubclass(kind, IntegerField)
        or (issubclass(kind, SelectFieldBase) and coerce in {int, record_id})
        or name.endswith(("_id", "_ids"))
    )


@cache
def number_fields() -> tuple[frozenset[str], frozenset[str]]:
    """Every form's integer fields, and its lists of entries (``people-<index>-...``)."""
    numbers: set[str] = set()
    lists: set[str] = set()
    for form in _forms():
        for name in dir(form):
            field = getattr(form, name, None)
            if not isinstance(field, UnboundField):
                continue
            if issubclass(field.field_class, FieldList):
                lists.add(name)
            elif _is_number_field(name, field):
                numbers.add(name)
    return frozenset(numbers), frozenset(lists)


_ARGUMENT = re.compile(r"<(?:([^<>:]*):)?(\w+)(?:\([^)]*\))?>")


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    endpoint: str

    def url(self, number: str, fixed: dict[str, str]) -> str:
        """The rule's URL with ``number`` for each id and a real value for anything else."""

        def fill(match: re.Match[str]) -> str:
            converter, name = match.group(1), match.group(2)
            if converter == "int":
                return quote(number, safe="")
            return quote(fixed[name], safe="/")

        return _ARGUMENT.sub(fill, self.rule)

    @property
    def takes_an_id(self) -> bool:
        return "<int:" in self.rule


def routes(app: Flask) -> list[Route]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append(Route(method, _rule_text(rule), rule.endpoint))
    return found


def _rule_text(rule: Rule) -> str:
    return rule.rule


@dataclass
class Visit:
    browser: Browser
    token: str
    fixed: dict[str, str]


def visit_as(app: Flask, world: World, seeded: Seeded, persona: str) -> Visit:
    fixed = {"number": seeded.north, "change": "enable"}
    if persona == "visitor":
        browser = Browser(app.test_client())
        return Visit(browser, csrf_token(browser.get("/login").get_data(as_text=True)), fixed)
    browser = signed_in(app, world, persona)
    return Visit(browser, csrf_token(browser.get("/account/").get_data(as_text=True)), fixed)


def send(app: Flask, visit: Visit, route: Route, number: str) -> TestResponse:
    """``number`` in every id of the URL, every number of the query and every integer field
    of any form (and as the index of every list of entries)."""
    numbers, lists = number_fields()
    values = dict.fromkeys(sorted(numbers | set(QUERY_NUMBERS)), number)
    values |= {f"{name}-{number}-given_name": "Ann" for name in lists}
    url = route.url(number, visit.fixed)
    query = urlencode(values)
    if route.method == "GET":
        return visit.browser.get(f"{url}?{query}")
    return visit.browser.client.open(
        f"{url}?{query}", method=route.method, data={"csrf_token": visit.token, **values}
    )


def check(route: Route, number: str, response: TestResponse, persona: str) -> None:
    where = f"{route.method} {route.rule} with {number!r} as {persona}"
    assert response.status_code < 500, f"{where}: HTTP {response.status_code}"
    if number and route.takes_an_id and persona != "visitor" and parse_id(number) is None:
        # Not an id at all: no such page, whoever asks and whatever the page would be (the
        # path may be another page's, which does not take the method: 405).
        assert response.status_code in {404, 405}, f"{where}: HTTP {response.status_code}"


# --------------------------------------------------------------------------- the tests


@pytest.fixture
def seeded(app: Flask, world: World) -> Seeded:
    return seed_cases(app, world)


def test_the_walk_finds_the_integer_fields_and_the_routes_with_ids(app: Flask) -> None:
    """The generic walk sees what it must (or the property tests below would prove nothing)."""
    numbers, lists = number_fields()
    assert {"school_id", "team_id", "user_id", "person_id", "school_ids"} <= numbers
    assert "people" in lists
    with_ids = {r.endpoint for r in routes(app) if r.takes_an_id}
    assert {"people.show", "admin.edit_user", "triage.report", "audit.review"} <= with_ids


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_hostile_number_in_any_route_fails_the_request(
    app: Flask, world: World, seeded: Seeded, persona: str
) -> None:
    """Every route, every integer parameter at once, a Unicode digit, a sign, a huge value."""
    visit = visit_as(app, world, seeded, persona)
    for route in routes(app):
        if route.endpoint == "auth.logout":
            continue  # it would end the persona's session for the routes after it
        for number in SWEEP:
            check(route, number, send(app, visit, route, number), persona)


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_generated_number_in_any_route_fails_the_request(
    app: Flask, world: World, seeded: Seeded, persona: str
) -> None:
    """The same with generated values: Unicode digits, signs, spaces, zeros, huge values."""
    visit = visit_as(app, world, seeded, persona)
    every = [r for r in routes(app) if r.endpoint != "auth.logout"]

    @FUZZ
    @given(route=st.sampled_from(every), number=hostile_number)
    def probe(route: Route, number: str) -> None:
        check(route, number, send(app, visit, route, number), persona)

    probe()


# --------------------------------------------------------------------------- the regressions


def test_a_unicode_digit_as_the_trail_page_is_refused_not_a_crash(app: Flask, world: World) -> None:
    eve = signed_in(app, world, "auditor_eve")
    for page in ("²", "٣", "３"):
        assert eve.get(f"/audit/?page={quote(page)}").status_code == 400, page
    assert eve.get("/audit/?page=1").status_code == 200


def test_an_id_in_a_url_is_ascii_digits_or_no_page(
    app: Flask, world: World, seeded: Seeded
) -> None:
    """Fullwidth and Arabic-Indic digits are digits to int() and to a \\d pattern: not to us."""
    ben = signed_in(app, world, "lead_ben")
    subject = str(seeded.subject_id)
    assert ben.get(f"/people/{subject}").status_code == 200
    assert ben.get(f"/people/00{subject}").status_code == 200  # ASCII digits, leading zeros
    for script in ("FULLWIDTH", "ARABIC-INDIC", "MATHEMATICAL BOLD"):
        typed = "".join(unicodedata.lookup(f"{script} DIGIT {_name(d)}") for d in subject)
        response = ben.get(f"/people/{quote(typed)}")
        assert response.status_code == 404, (script, typed)
        assert "Jordan" not in response.get_data(as_text=True)


def _name(digit: str) -> str:
    return unicodedata.name(digit).rsplit(" ", 1)[-1]


@pytest.mark.parametrize("person_id", ["²", "٣", "+1", " 1", "9" * 30, ""])
def test_a_person_id_that_is_not_an_id_is_refused_on_every_form_that_takes_one(
    app: Flask, world: World, seeded: Seeded, person_id: str
) -> None:
    """The same forms without the hostile id go through: the id alone is refused."""
    ben = signed_in(app, world, "lead_ben")
    person = {
        "kind": "student",
        "given_name": "Ann",
        "family_name": "Lee",
        "date_of_birth": "2010-01-01",
        "person_id": person_id,
    }
    north_team = f"{world.team_ids['north']}:{world.school_ids['NHS']}"
    search = ben.submit("/people/search", person)
    party = ben.submit(
        f"/cases/{seeded.north}",
        {"part": "witness", **person},
        action=f"/cases/{seeded.north}/parties",
    )
    opened = ben.submit(
        "/cases/new", {"team_school": north_team, "summary": "A threat in the gym.", **person}
    )
    expected = (200, 302, 302) if person_id == "" else (400, 400, 400)
    assert (search.status_code, party.status_code, opened.status_code) == expected


@pytest.mark.parametrize("user_id", ["٣", "99999999999999999999", "+3", "3_0"])
def test_a_member_to_remove_named_by_a_hostile_number_changes_nothing(
    app: Flask, world: World, seeded: Seeded, user_id: str
) -> None:
    ben = signed_in(app, world, "lead_ben")
    response = ben.submit(
        f"/cases/{seeded.north}",
        {"user_id": user_id},
        action=f"/cases/{seeded.north}/members/remove",
    )
    assert response.status_code in {302, 400}, response.status_code


def test_a_team_named_by_a_huge_number_at_triage_is_refused(app: Flask, world: World) -> None:
    from tests.support.cases import seed_reports

    reports = seed_reports(app, world)
    ben = signed_in(app, world, "lead_ben")
    response = ben.submit(
        f"/triage/{reports.nhs_report}",
        {"outcome": "opened_case", "team_id": "99999999999999999999", "summary": "A threat."},
        action=f"/triage/{reports.nhs_report}/decide",
    )
    assert response.status_code in {400, 403}, response.status_code
