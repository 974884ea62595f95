"""A new team takes a case to a confirmed determination in a real browser.

Newcomers on the demo team, added by ``admin.osei``: a lead (administrator), a school
psychologist (mental health) and a school resource officer (law enforcement). The lead opens
a case, records a fact and answers a question from it, and records a determination that the
quorum then confirms, each with their own sign-in, before the case moves to management.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, StorageState, expect

from tests.browser.checks import Look
from tests.browser.live import Browsing, expect_clean
from tests.browser.people import LEAD, OFFICER, SCHOOL_NAMES, Enrol, Newcomer
from tests.support.pages import CasePage, NewCasePage

pytestmark = pytest.mark.browser

# The fact as the forms offer it: its number is the store's, after the demo's own facts.
OUR_FACT = re.compile(r"^Fact \d+ \(observation, 2026-11-30\)$")

PSYCH = Newcomer(
    "psych.moreau",
    "Dr. Lena Moreau",
    "Team member",
    "Mental health",
    schools=tuple(SCHOOL_NAMES.values()),
    on_team=True,
)


@pytest.fixture
def states(newcomers: Enrol) -> dict[str, StorageState]:
    return {who.username: newcomers(who) for who in (LEAD, PSYCH, OFFICER)}


def as_page(browsing: Browsing, states: dict[str, StorageState], who: Newcomer) -> Page:
    return browsing.new_page(storage_state=states[who.username])


def test_a_new_team_takes_a_case_to_a_determination_confirmed_by_its_quorum(
    browsing: Browsing, states: dict[str, StorageState], look: Look
) -> None:
    lead = as_page(browsing, states, LEAD)
    new = NewCasePage(lead).open()
    look(lead)
    new.given_name.fill("Marisa")
    new.family_name.fill("Okonjo")
    new.summary.fill("Marisa wrote 'last day for all of you' on a desk in room 114.")
    new.open_button.click()
    case = CasePage(lead).expect_shown()
    number = case.number
    look(lead)

    facts = lead.get_by_role("region", name="Facts", exact=True)
    facts.get_by_text("Record a fact", exact=True).click()
    facts.get_by_label("Source").select_option(label="Observation")
    facts.get_by_label("Learned on").fill("2026-11-30")
    facts.get_by_label("What was learned").fill("The words are carved into desk 7 of room 114.")
    facts.get_by_role("button", name="Record the fact").click()
    expect(lead.locator(".flash")).to_contain_text("Fact recorded.")
    expect(facts.get_by_role("article")).to_have_count(1)
    look(lead)

    questions = lead.get_by_role("region", name="Questions", exact=True)
    item = questions.locator("#q-communications")
    item.locator("summary").click()
    item.get_by_label("Yes").check()
    item.get_by_label(OUR_FACT).check()
    item.get_by_role("button", name="Save the answer").click()
    expect(lead.locator("#q-communications")).to_contain_text("Answer: Yes — from fact")
    look(lead)

    determinations = lead.get_by_role("region", name="Determinations", exact=True)
    determinations.get_by_text("Record a determination", exact=True).click()
    determinations.get_by_label("Classification").select_option("substantive_serious")
    determinations.get_by_label("Level of concern").select_option("high")
    determinations.get_by_label("Rationale").fill("A specific threat to a class, no plan found.")
    determinations.get_by_label(OUR_FACT).check()
    determinations.get_by_label(PSYCH.name, exact=False).check()
    determinations.get_by_role("button", name="Record the determination").click()
    # The officer is missing: the refusal names the discipline, the form stays filled in.
    expect(lead.locator(".error-summary").get_by_text("missing: Law enforcement.")).to_be_visible()
    look(lead)
    determinations = lead.get_by_role("region", name="Determinations", exact=True)
    determinations.get_by_label(OFFICER.name, exact=False).check()
    determinations.get_by_role("button", name="Record the determination").click()
    expect(lead.locator(".flash")).to_contain_text("every participant confirms it")
    expect(CasePage(lead).fact("Status")).to_have_text("Assessment")
    look(lead)

    for who in (PSYCH, OFFICER):
        page = as_page(browsing, states, who)
        page.goto("/dashboard")
        look(page)
        waiting = page.get_by_role("region", name="Determinations to confirm")
        waiting.get_by_role("link", name=f"Case {number}").click()
        look(CasePage(page).expect_shown().page)
        mine = page.get_by_role("region", name="Determinations", exact=True)
        mine.get_by_label("I confirm this determination").check()
        mine.get_by_role("button", name="Send my answer").click()
        expect(page.locator(".flash")).to_contain_text("Your answer is recorded.")
        look(page)
        expect_clean(browsing, page)

    case = CasePage(lead).open(number)
    look(lead)
    expect(case.fact("Status")).to_have_text("Management")
    expect(case.fact("Level of concern")).to_have_text("High")
    outstanding = lead.locator(".outstanding")
    expect(outstanding).to_contain_text("Report to the superintendent or designee")
    expect(lead.get_by_role("region", name="Timeline")).to_contain_text("Moved to management")
    # The refused determination answered 400 (as a refused form does); nothing else failed.
    report = browsing.report(lead)
    assert report.csp_violations == [] and report.script_errors == []
    assert [url for _text, url in report.errors()] == [
        f"{lead.url.split('/cases/')[0]}/cases/{number}/determinations"
    ]
