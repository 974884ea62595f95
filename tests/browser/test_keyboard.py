"""The main forms completed with the keyboard alone: Tab and Shift+Tab to each field, typing,
Space and the arrow keys for boxes, buttons and lists, Enter to send; never a mouse.

What is typed goes only into the element the browser's focus is on (``tests/browser/keys.py``),
and the test reads the result as the person would: the record on the page. The people are
newcomers the administrator adds (``newcomers``), on the demo district; each page is looked at
(``look``) at both widths like the journeys' pages.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, StorageState, expect

from btam.demo import TEAM, TIME_ZONE
from btam.demo.cases import BATHROOM_WALL
from tests.browser.checks import Look
from tests.browser.demo_cases import number_of
from tests.browser.keys import Keys, focus_shown
from tests.browser.live import Browsing
from tests.browser.people import (
    AUDITOR,
    COUNSELOR,
    LEAD,
    OFFICER,
    OWN_PASSWORD,
    SCHOOL_NAMES,
    Enrol,
)
from tests.browser.test_assessment import PSYCH
from tests.support.pages import (
    CaseListPage,
    CasePage,
    Keyring,
    LoginPage,
    NewCasePage,
    SecondFactorPage,
)

pytestmark = pytest.mark.browser

CODE = re.compile(r"[A-Z2-9]{4}(?:-[A-Z2-9]{4}){5}")
# The demo district's day: from midnight UTC it is still yesterday in its time zone, and a
# date "in the future" is refused there.
DISTRICT_TODAY = datetime.now(ZoneInfo(TIME_ZONE)).date()
TODAY = DISTRICT_TODAY.isoformat()
LATER = (DISTRICT_TODAY + timedelta(days=14)).isoformat()


def _signed_in(browsing: Browsing, state: StorageState) -> Page:
    return browsing.new_page(storage_state=state)


def _new_case(look: Look, lead: Page, given: str, family: str, summary: str) -> CasePage:
    """A case to work on, opened the ordinary way (its form has a keyboard test of its own)."""
    new = NewCasePage(lead).open()
    look(lead)
    new.given_name.fill(given)
    new.family_name.fill(family)
    new.summary.fill(summary)
    new.open_button.click()
    case = CasePage(lead).expect_shown()
    look(lead)
    return case


def test_sign_in_with_the_second_factor_by_keyboard_alone(
    browsing: Browsing, newcomers: Enrol, keyring: Keyring, look: Look
) -> None:
    newcomers(AUDITOR)  # enrolled once: the keyring holds the authenticator app
    page = browsing.new_page()
    keys = Keys(page)
    login = LoginPage(page).open()
    look(page)
    expect(login.user_name).to_be_focused()
    page.keyboard.type(AUDITOR.username)
    keys.type(login.password, "not the password")
    # Back to the name with Shift+Tab: it is kept, and the password typed again.
    keys.reach(login.user_name)
    expect(login.user_name).to_have_value(AUDITOR.username)
    keys.reach(login.password)
    assert focus_shown(login.password)
    page.keyboard.press("Control+A")
    page.keyboard.type(OWN_PASSWORD)
    page.keyboard.press("Enter")

    code = SecondFactorPage(page).expect_shown()
    look(page)
    keys.type(code.code, keyring[AUDITOR.username].code())
    assert focus_shown(code.code)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {AUDITOR.name}")
    look(page)


def test_an_anonymous_tip_sent_by_keyboard_alone(browsing: Browsing, look: Look) -> None:
    page = browsing.new_page()
    keys = Keys(page)
    page.goto("/tip")
    look(page)
    keys.choose(page.get_by_label("School"), SCHOOL_NAMES["RHS"])
    weapon = page.get_by_role("radio", name="A weapon")
    keys.pick(page.locator("input[name='category']").all(), weapon)
    assert focus_shown(weapon)
    keys.type(
        page.get_by_label("What happened, or what do you know?"),
        "Two boys by the gym said they will bring a bat for the new student on Monday.",
    )
    keys.press(page.get_by_role("button", name="Send the tip"))
    expect(page.get_by_label("Your follow-up code")).to_have_text(CODE)
    look(page)


def test_a_lead_triages_a_report_into_a_case_by_keyboard_alone(
    browsing: Browsing, newcomers: Enrol, look: Look
) -> None:
    lead = _signed_in(browsing, newcomers(LEAD))
    lead.goto("/reports/new")
    look(lead).get_by_label("School", exact=True).select_option(label=SCHOOL_NAMES["RHS"])
    lead.get_by_label("What was said or done").fill(
        "Mara wrote 'you'll all see on Friday' under a drawing of the cafeteria."
    )
    subject = lead.get_by_role("group", name="Person 1")
    subject.get_by_label("Given name").fill("Mara")
    subject.get_by_label("Family name").fill("Quist")
    lead.get_by_role("button", name="Send the report").click()
    sent = re.search(r"#(\d+)", lead.get_by_text(re.compile(r"report #\d+")).inner_text())
    assert sent is not None
    look(lead)

    lead.goto(f"/triage/{sent.group(1)}")
    look(lead)
    keys = Keys(lead)
    keys.choose(lead.get_by_label("Was a threat communicated?"), "Yes")
    assert focus_shown(lead.get_by_label("Was a threat communicated?"))
    opening = lead.get_by_role("group", name="Opening a case")
    expect(opening).to_be_hidden()
    outcomes = lead.get_by_role("group", name="Outcome").get_by_role("radio").all()
    keys.pick(outcomes, lead.get_by_label("Opened a case"))
    # The choice shows its own fields (CSS :has, no script), and the keys reach them.
    expect(opening).to_be_visible()
    keys.choose(opening.get_by_label("Team that takes the case"), TEAM)
    summary = "Mara's drawing of the cafeteria with 'you'll all see on Friday'."
    keys.type(opening.get_by_label("Case summary"), summary)
    keys.press(lead.get_by_role("button", name="Record the triage"))

    case = CasePage(lead).expect_shown()
    expect(case.summary).to_contain_text(summary)
    expect(case.people).to_contain_text("Mara Quist")
    look(lead)


def test_a_team_records_a_fact_and_a_determination_by_keyboard_alone(
    browsing: Browsing, newcomers: Enrol, look: Look
) -> None:
    for member in (PSYCH, OFFICER):
        newcomers(member)  # on the team, so the quorum can be named
    lead = _signed_in(browsing, newcomers(LEAD))
    case = _new_case(look, lead, "Ilse", "Brandt", "Ilse said the bus 'won't make it' Friday.")
    keys = Keys(lead)

    facts = lead.get_by_role("region", name="Facts", exact=True)
    keys.open(facts.get_by_text("Record a fact", exact=True))
    keys.date(facts.get_by_label("Learned on"), TODAY)
    statement = "Ilse drew the route of bus 12 with a cross on the bridge."
    keys.type(facts.get_by_label("What was learned"), statement)
    # The source comes before them: Shift+Tab goes back to it.
    keys.choose(facts.get_by_label("Source"), "Observation")
    keys.press(facts.get_by_role("button", name="Record the fact"))
    expect(lead.locator(".flash")).to_contain_text("Fact recorded.")
    expect(lead.get_by_role("region", name="Facts", exact=True)).to_contain_text(statement)
    look(lead)

    determinations = lead.get_by_role("region", name="Determinations", exact=True)
    keys.open(determinations.get_by_text("Record a determination", exact=True))
    keys.choose(determinations.get_by_label("Classification"), value="substantive_serious")
    keys.choose(determinations.get_by_label("Level of concern"), value="high")
    keys.type(
        determinations.get_by_label("Rationale"), "A drawn plan against a named bus; no means."
    )
    keys.tick(determinations.get_by_label(re.compile(r"^Fact \d+ \(observation, ")))
    for member in (PSYCH, OFFICER):
        keys.tick(determinations.get_by_label(member.name, exact=False))
    keys.press(determinations.get_by_role("button", name="Record the determination"))
    expect(lead.locator(".flash")).to_contain_text("every participant confirms it")
    expect(lead.get_by_role("region", name="Determinations", exact=True)).to_contain_text(
        "A drawn plan against a named bus"
    )
    expect(case.fact("Status")).to_have_text("Assessment")
    look(lead)


def test_a_plan_item_and_the_owners_session_log_by_keyboard_alone(
    browsing: Browsing, newcomers: Enrol, look: Look
) -> None:
    counselor_state = newcomers(COUNSELOR)  # on the case's school, so the plan offers her
    lead = _signed_in(browsing, newcomers(LEAD))
    cases = CaseListPage(lead).open()
    look(lead)
    case = cases.open_case(number_of(cases, BATHROOM_WALL))
    look(lead)
    keys = Keys(lead)
    plan = case.plan
    keys.open(plan.locator("summary", has_text="Add to the plan"))
    keys.choose(plan.get_by_label("Intervention"), "School counseling")
    keys.choose(plan.get_by_label("Aimed at"), "The subject")
    keys.choose(plan.get_by_label("Owner"), COUNSELOR.choice)
    keys.date(plan.get_by_label("Due", exact=True), LATER)
    task = "Check in with the student every morning by keyboard."
    keys.type(plan.get_by_label("Description"), task)
    keys.press(plan.get_by_role("button", name="Add to the plan", exact=True))
    expect(lead.locator(".flash")).to_have_text("Added to the plan.")
    expect(CasePage(lead).item_row(task)).to_contain_text(COUNSELOR.name)
    look(lead)
    item = CasePage(lead).item_row(task).get_by_role("link").get_attribute("href")
    assert item is not None

    counselor = _signed_in(browsing, counselor_state)
    counselor.goto(item)
    look(counselor)
    keys = Keys(counselor)
    keys.date(counselor.get_by_label("Day"), TODAY)
    keys.type(counselor.get_by_label("Duration (minutes)"), "30")
    keys.choose(counselor.get_by_label("Kind"), "Individual")
    keys.type(counselor.get_by_label("Private notes"), "Spoke of the move to a new town.")
    summary = "Morning check-in held; the student was calm."
    keys.type(counselor.get_by_label("Summary for the team"), summary)
    assert focus_shown(counselor.get_by_label("Summary for the team"))
    keys.press(counselor.get_by_role("button", name="Log it"))
    expect(counselor.get_by_role("region", name="Sessions and contacts")).to_contain_text(summary)
    look(counselor)


def test_a_referral_drafted_by_keyboard_alone(
    browsing: Browsing, newcomers: Enrol, look: Look
) -> None:
    lead = _signed_in(browsing, newcomers(LEAD))
    _new_case(look, lead, "Pavel", "Ruiz", "Pavel said he would 'settle it' after the game.")
    keys = Keys(lead)
    referrals = lead.get_by_role("region", name="Referrals", exact=True)
    keys.open(referrals.get_by_text("Draft a referral", exact=True))
    form = referrals.locator("form[action$='/referrals']")
    agency = "Eastside Family Services"
    keys.choose(form.get_by_label("Referred to"), value="community_mental_health")
    keys.type(form.get_by_label("Agency"), agency)
    keys.type(form.get_by_label("Reason for the referral"), "Counseling after a fight.")
    keys.choose(form.get_by_label("Parent consent"), value="obtained")
    keys.date(form.get_by_label("Date of the written consent"), TODAY)
    keys.type(form.get_by_label("Records the consent names"), "The assessment summary")
    keys.type(form.get_by_label("Purpose it names"), "Counseling intake")
    keys.type(form.get_by_label("Recipient it names"), agency)
    keys.date(form.get_by_label("First follow-up"), LATER)
    keys.press(form.get_by_role("button", name="Draft the referral"))
    expect(lead.locator(".flash")).to_contain_text("Referral drafted.")
    expect(lead.locator("article.referral")).to_contain_text(agency)
    look(lead)


def test_meeting_minutes_recorded_by_keyboard_alone(
    browsing: Browsing, newcomers: Enrol, look: Look
) -> None:
    lead = _signed_in(browsing, newcomers(LEAD))
    number = _new_case(look, lead, "Noor", "Sayed", "Noor said 'the lab goes up' on Monday.").number
    lead.goto("/meetings/")
    look(lead)
    schedule = lead.get_by_role("region", name="Schedule a meeting")
    schedule.get_by_label("Team", exact=True).select_option(label=TEAM)
    schedule.get_by_label("Date").fill(LATER)
    schedule.get_by_label("Time").fill("08:15")
    schedule.get_by_label("Place").fill("Room 12")
    schedule.get_by_role("button", name="Schedule").click()
    expect(lead.locator(".flash")).to_contain_text("Meeting scheduled.")
    look(lead)
    agenda = lead.get_by_role("region", name="Agenda", exact=True)
    agenda.get_by_text("Add to the agenda", exact=True).click()
    agenda.get_by_label("Case number").fill(number)
    agenda.get_by_role("button", name="Add the case").click()
    expect(lead.locator(".flash")).to_contain_text("Case added to the agenda.")
    look(lead)
    item = lead.locator("ol.agenda > li").filter(has_text=f"Case {number}")
    item.get_by_role("link", name="Minutes and decisions").click()
    expect(lead.get_by_role("heading", level=1)).to_contain_text(f"case {number}")
    look(lead)

    keys = Keys(lead)
    minutes = "Noor's teacher will walk her to the lab; the team reviews next week."
    keys.type(lead.get_by_role("textbox", name="Minutes"), minutes)
    assert focus_shown(lead.get_by_role("textbox", name="Minutes"))
    keys.press(lead.get_by_role("button", name="Record the minutes"))
    expect(lead.locator(".minute")).to_contain_text(minutes)
    look(lead)
