"""Hostile input on every referral and notification form: random Unicode with control
characters and NUL bytes, HTML and script, very long strings, values outside every choice,
a person of another case.

Whatever comes in, the answer is a redirect (302) or a refusal (400), never a server error;
a refusal stores nothing half-way, and HTML typed in a field comes back as text.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, table

from btam.cases.services import page
from btam.context import carry_out
from btam.plans.referral_terms import Audience, Consent, Destination, History, ReferralMove
from btam.plans.services import referrals
from btam.plans.services.referrals import ConsentData, ReferralData
from tests.functional.test_intake_hostile_input import (
    check_page,
    choice,
    mostly,
    refused_as_too_large,
    text,
)
from tests.support.cases import Seeded, acting_as, seed_cases
from tests.support.intake import browser_of
from tests.support.personas import World
from tests.support.web import Browser, csrf_token

FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TABLES = ("referrals", "referral_steps", "notifications", "documented_histories", "disclosures")
TODAY = date.today()
dates = mostly(
    st.one_of(
        st.just(""),
        st.dates(TODAY - timedelta(days=30), TODAY + timedelta(days=30)).map(str),
        st.sampled_from(["2025-13-40", "tomorrow", "0000-00-00", "9999-12-31"]),
    )
)
record_class = choice(["education", "counseling", "law_enforcement"])


def counts(app: Flask) -> dict[str, int]:
    with app.extensions["btam"].stores.case_sessions() as db:
        return {
            name: int(db.execute(select(func.count()).select_from(table(name))).scalar_one())
            for name in TABLES
        }


@pytest.fixture
def seeded(app: Flask, world: World) -> Seeded:
    return seed_cases(app, world)


@pytest.fixture
def people(app: Flask, world: World, seeded: Seeded) -> list[str]:
    """The north case's person ids, and the south case's subject (slipped in by id)."""
    with acting_as(app, world, "outsider_dee") as ctx:
        south = page.view_case(ctx, seeded.south).parties[0].person_id
    return [str(seeded.subject_id), str(south)]


@pytest.fixture
def referral_id(app: Flask, world: World, seeded: Seeded) -> int:
    with acting_as(app, world, "lead_ben") as ctx:
        return carry_out(
            ctx,
            referrals.draft_referral(
                ctx,
                seeded.north,
                ReferralData(
                    person_id=None,
                    destination=Destination.COMMUNITY_SERVICES,
                    agency="Harbor Youth Services",
                    contact="",
                    reason="Mentoring after school.",
                    consent=ConsentData(Consent.REFUSED),
                    follow_up_on=TODAY + timedelta(days=7),
                ),
            ),
        )


def post(
    browser: Browser, page_url: str, action: str, data: dict[str, str]
) -> tuple[dict[str, str], object]:
    token = csrf_token(browser.get(page_url).get_data(as_text=True))
    form = {**data, "csrf_token": token}
    return form, browser.client.post(action, data=form)


def settle(app: Flask, form: dict[str, str], response: object, before: dict[str, int]) -> str:
    """The answer's HTML after the common checks: no server error, nothing half-way."""
    if refused_as_too_large(app, form, response, before):  # type: ignore[arg-type]
        return ""
    status = response.status_code  # type: ignore[attr-defined]
    assert status in (302, 400), status
    if status == 400:
        assert counts(app) == before
        return str(response.get_data(as_text=True))  # type: ignore[attr-defined]
    return ""


@FUZZ
@given(
    data=st.fixed_dictionaries(
        {
            "destination": choice([d.value for d in Destination]),
            "agency": text,
            "contact": text,
            "reason": text,
            "consent": choice([c.value for c in Consent]),
            "consent_records": text,
            "consent_purpose": text,
            "consent_recipient": text,
            "consent_on": dates,
            "legal_basis": choice(["", "juvenile_justice", "parent_consent", "other"]),
            "basis_statement": text,
            "follow_up_on": dates,
            "record_class": record_class,
        }
    ),
    person=st.sampled_from([0, 1, 2]),
)
def test_the_referral_form_survives_hostile_input(
    app: Flask, world: World, seeded: Seeded, people: list[str], data: dict[str, str], person: int
) -> None:
    browser = browser_of(app, world, "lead_ben")
    case_url = f"/cases/{seeded.north}"
    data = {**data, "person_id": ["", *people][person]}
    before = counts(app)
    form, response = post(browser, case_url, f"{case_url}/referrals", data)
    html = settle(app, form, response, before)
    if html:
        check_page(html, data, ("agency", "contact", "reason", "basis_statement"))
    elif response.status_code == 302:  # type: ignore[attr-defined]
        assert counts(app)["referrals"] == before["referrals"] + 1
        # Never the other case's person.
        assert data["person_id"] != people[1]


@FUZZ
@given(
    data=st.fixed_dictionaries(
        {
            "consent": choice([c.value for c in Consent]),
            "consent_records": text,
            "consent_purpose": text,
            "consent_recipient": text,
            "consent_on": dates,
            "legal_basis": choice(["", "subpoena_or_court_order", "parent_consent"]),
            "basis_statement": text,
        }
    )
)
def test_the_consent_form_survives_hostile_input(
    app: Flask, world: World, seeded: Seeded, referral_id: int, data: dict[str, str]
) -> None:
    browser = browser_of(app, world, "lead_ben")
    case_url = f"/cases/{seeded.north}"
    before = counts(app)
    form, response = post(browser, case_url, f"{case_url}/referrals/{referral_id}/consent", data)
    html = settle(app, form, response, before)
    if html:
        check_page(html, {}, ())


@FUZZ
@given(
    data=st.fixed_dictionaries(
        {
            "move": choice([m.value for m in ReferralMove]),
            "at_on": dates,
            "note": text,
            "follow_up_on": dates,
        }
    )
)
def test_the_step_form_survives_hostile_input(
    app: Flask, world: World, seeded: Seeded, referral_id: int, data: dict[str, str]
) -> None:
    browser = browser_of(app, world, "lead_ben")
    case_url = f"/cases/{seeded.north}"
    before = counts(app)
    form, response = post(browser, case_url, f"{case_url}/referrals/{referral_id}/move", data)
    html = settle(app, form, response, before)
    if html:
        check_page(html, data, ("note",))
    # Consent was refused: sending outside never records a disclosure.
    assert counts(app)["disclosures"] == 0


@FUZZ
@given(
    data=st.fixed_dictionaries(
        {
            "audience": choice([a.value for a in Audience]),
            "recipient": text,
            "notified_on": dates,
            "notified_at": mostly(st.sampled_from(["", "08:30", "23:59", "25:61", "noon"])),
            "method": choice(["in_person", "phone", "email", "letter", "other"]),
            "summary": text,
            "record_class": record_class,
        }
    ),
    person=st.sampled_from([0, 1, 2]),
)
def test_the_notification_form_survives_hostile_input(
    app: Flask, world: World, seeded: Seeded, people: list[str], data: dict[str, str], person: int
) -> None:
    browser = browser_of(app, world, "member_gus")
    case_url = f"/cases/{seeded.north}"
    data = {**data, "about_person_id": ["", *people][person]}
    before = counts(app)
    form, response = post(browser, case_url, f"{case_url}/notifications", data)
    html = settle(app, form, response, before)
    if html:
        check_page(html, data, ("recipient", "summary"))
    elif response.status_code == 302:  # type: ignore[attr-defined]
        assert data["about_person_id"] != people[1]


@FUZZ
@given(
    data=st.fixed_dictionaries({"kind": choice([h.value for h in History]), "documented_in": text}),
    person=st.sampled_from([0, 1, 2]),
)
def test_the_history_form_survives_hostile_input(
    app: Flask, world: World, seeded: Seeded, people: list[str], data: dict[str, str], person: int
) -> None:
    browser = browser_of(app, world, "officer_hal")
    case_url = f"/cases/{seeded.north}"
    data = {**data, "person_id": ["", *people][person]}
    before = counts(app)
    form, response = post(browser, case_url, f"{case_url}/histories", data)
    html = settle(app, form, response, before)
    if html:
        check_page(html, data, ("documented_in",))
    elif response.status_code == 302:  # type: ignore[attr-defined]
        assert data["person_id"] == people[0]
