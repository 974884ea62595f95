"""The case area in a real browser: the case list, a case, a new case, people, disclosures.

The demo accounts with two-step sign-in must meet the app for the first time in
test_signin.py, so the people here are newcomers the administrator ``admin.osei`` adds
through the administration pages, once per worker: a team lead and a school resource
officer on the demo team (the officer employed by the demo's police department), a counselor
of Riverbend High School and an auditor. They work on the demo cases of ``btam/demo/cases.py``,
found on the case list by their school, status and level of concern: their numbers carry
the year the demo was loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, StorageState, expect

from btam.access.record_classes import RecordClass
from btam.demo import OFFICER_AGENCY
from btam.demo.cases import BATHROOM_WALL, SOCIAL_MEDIA, TYLER
from tests.browser.checks import Look
from tests.browser.demo_cases import number_of, open_demo_case
from tests.browser.live import Browsing, expect_clean
from tests.browser.people import AUDITOR, COUNSELOR, LEAD, OFFICER, SCHOOL_NAMES, Enrol
from tests.support.pages import (
    CaseListPage,
    CasePage,
    DisclosuresPage,
    NewCasePage,
    PersonSearchPage,
)

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LAPTOP = {"width": 1366, "height": 768}
SUBJECT = f"{TYLER.given} {TYLER.family}"


@pytest.fixture
def lead_state(newcomers: Enrol) -> StorageState:
    return newcomers(LEAD)


@pytest.fixture
def officer_state(newcomers: Enrol) -> StorageState:
    return newcomers(OFFICER)


@pytest.fixture
def counselor_state(newcomers: Enrol) -> StorageState:
    return newcomers(COUNSELOR)


@pytest.fixture
def auditor_state(newcomers: Enrol) -> StorageState:
    return newcomers(AUDITOR)


@pytest.fixture
def lead_page(browsing: Browsing, lead_state: StorageState) -> Page:
    return browsing.new_page(storage_state=lead_state)


@pytest.fixture
def officer_page(browsing: Browsing, officer_state: StorageState) -> Page:
    return browsing.new_page(storage_state=officer_state)


@pytest.fixture
def counselor_page(browsing: Browsing, counselor_state: StorageState) -> Page:
    return browsing.new_page(storage_state=counselor_state)


@pytest.fixture
def auditor_page(browsing: Browsing, auditor_state: StorageState) -> Page:
    return browsing.new_page(storage_state=auditor_state)


def test_no_case_area_page_breaks_the_content_security_policy_or_logs_an_error(
    lead_page: Page, auditor_page: Page, browsing: Browsing
) -> None:
    cases = CaseListPage(lead_page).open()
    expect(cases.rows.first).to_be_visible()

    # A case with notes of every class: the lead reads the education records in full and
    # the team summaries of the counseling and law-enforcement ones.
    case = cases.open_case(number_of(cases, BATHROOM_WALL))
    expect(case.summary).to_contain_text("4TH PERIOD CHEM")
    for record_class in RecordClass:
        expect(case.note_items.filter(has_text=record_class.label).first).to_be_visible()
    expect(case.notes).to_contain_text("The full note is readable by its discipline only.")
    expect(case.attachments).to_contain_text("restroom-wall-transcription.txt")

    person = case.open_person(SUBJECT)
    expect(person.heading).to_have_text(SUBJECT)
    expect(person.cases.get_by_role("listitem")).to_have_count(2)
    expect(person.disclosures).to_contain_text("Riverbend Family Counseling Center")

    search = PersonSearchPage(lead_page).open().search(student_id=TYLER.student_number)
    expect(search.results.get_by_role("heading")).to_have_text("1 match")
    expect(search.results).to_contain_text(SUBJECT)

    new = CaseListPage(lead_page).open().open_a_new_case()
    expect(new.team_and_school).to_be_focused()
    emergency = CaseListPage(lead_page).open().emergency_access()
    expect(emergency.number).to_be_focused()

    disclosures = DisclosuresPage(auditor_page).open()
    expect(disclosures.entries).to_contain_text("Riverbend Family Counseling Center")
    # The emergency grant of the social-media case is a disclosure too, with its threat.
    assert SOCIAL_MEDIA.grant is not None
    expect(disclosures.entries).to_contain_text(SOCIAL_MEDIA.grant.threat[:40])

    expect_clean(browsing, lead_page, auditor_page)


def test_a_team_lead_opens_a_case_and_adds_a_note_with_the_keyboard_alone(
    lead_page: Page, browsing: Browsing, look: Look
) -> None:
    new = NewCasePage(lead_page).open()
    look(lead_page)
    keyboard = lead_page.keyboard
    # The form starts on its first field; the team's first school is chosen already.
    expect(new.team_and_school).to_be_focused()
    school = new.team_and_school.evaluate("select => select.selectedOptions[0].text")
    keyboard.press("Tab")
    expect(new.kind).to_be_focused()
    expect(new.kind).to_have_value("student")
    keyboard.press("Tab")
    expect(new.given_name).to_be_focused()
    keyboard.type("Jonah")
    keyboard.press("Tab")
    expect(new.family_name).to_be_focused()
    keyboard.type("Whitlock")
    keyboard.press("Tab")
    expect(new.date_of_birth).to_be_focused()
    keyboard.type("04152011")  # month, day, year: each part moves on to the next by itself
    expect(new.date_of_birth).to_have_value("2011-04-15")
    keyboard.press("Tab")  # the date's calendar button
    keyboard.press("Tab")
    expect(new.student_id).to_be_focused()
    keyboard.type("2049917")
    keyboard.press("Tab")
    expect(new.summary).to_be_focused()
    summary = "Jonah told a classmate in the library that he would 'end this' at the dance."
    keyboard.type(summary)
    keyboard.press("Tab")
    expect(new.open_button).to_be_focused()
    keyboard.press("Enter")

    case = CasePage(lead_page).expect_shown()
    number = case.number
    expect(case.flash).to_have_text(f"Case {number} opened.")
    expect(case.fact("School")).to_have_text(school.split(" — ")[-1])
    expect(case.fact("Status")).to_have_text("Assessment")
    expect(case.fact("Lead")).to_have_text(LEAD.name)
    expect(case.summary).to_contain_text(summary)
    expect(case.person_row("Jonah Whitlock")).to_contain_text("Subject")
    expect(case.note_items).to_have_count(0)
    look(lead_page)

    # "Add a note" opens by keyboard; an education record is the kind offered first.
    expect(case.note_body).to_be_hidden()
    case.add_note_toggle.press("Enter")
    expect(case.note_body).to_be_visible()
    keyboard.press("Tab")
    expect(case.note_kind).to_be_focused()
    expect(case.note_kind).to_have_value(RecordClass.EDUCATION.value)
    keyboard.press("Tab")
    expect(case.note_body).to_be_focused()
    note = "Screening with the librarian: the dance is on Friday; Jonah says it was a lyric."
    keyboard.type(note)
    keyboard.press("Tab")
    expect(case.note_team_summary).to_be_focused()
    keyboard.press("Tab")
    expect(case.add_note_button).to_be_focused()
    keyboard.press("Enter")

    case = CasePage(lead_page).expect_shown()
    expect(case.flash).to_have_text("Note added.")
    expect(case.heading).to_have_text(f"Case {number}")
    expect(case.note_items).to_have_count(1)
    expect(case.note_items).to_contain_text(note)
    expect(case.note_items).to_contain_text(f"{LEAD.name} · {RecordClass.EDUCATION.label}")
    look(lead_page)
    expect_clean(browsing, lead_page)


def test_a_counselor_sees_only_the_header_and_its_own_plan_item_and_marks_it_done(
    lead_page: Page, counselor_page: Page, browsing: Browsing
) -> None:
    task = "Meet the student before first period each day this week; tell the team of any worry."
    due = (date.today() + timedelta(days=7)).isoformat()
    case = open_demo_case(lead_page, BATHROOM_WALL)
    number = case.number
    case.add_plan_item(owner=COUNSELOR.choice, description=task, due=due)
    expect(case.item_row(task)).to_contain_text(COUNSELOR.name)
    expect(case.item_row(task)).to_contain_text(due)
    expect(case.item_row(task)).to_contain_text("Planned")

    # The counselor's list holds that one case, and its page only the header and the item.
    cases = CaseListPage(counselor_page).open()
    expect(cases.rows).to_have_count(1)
    mine = cases.open_case(number)
    expect(mine.heading).to_have_text(f"Case {number}")
    expect(mine.fact_names).to_have_text(
        ["Status", "Level of concern", "School", "Team", "Lead", "Opened"]
    )
    expect(mine.fact("School")).to_have_text(SCHOOL_NAMES[BATHROOM_WALL.school])
    expect(mine.fact("Status")).to_have_text(BATHROOM_WALL.status.label)
    expect(mine.your_work.get_by_role("row").filter(has_text="Other")).to_have_count(1)
    expect(mine.item_row(task)).to_contain_text(due)

    # Nothing else: no summary, people, notes, files, members, the team's plan, grants.
    for region in (mine.summary, mine.people, mine.notes, mine.attachments, mine.members):
        expect(region).to_have_count(0)
    expect(mine.grants).to_have_count(0)
    expect(mine.plan).to_have_count(0)
    for never in (
        TYLER.family,  # the subject, and the demo counselor's item which names him
        "Whitfield",  # a party
        "4TH PERIOD",  # the summary
        "hunting rifles",  # a law-enforcement note
        "restroom-wall-transcription",  # an attachment
    ):
        expect(mine.main).not_to_contain_text(never)

    item = mine.open_item(task)
    item.set_status("Done")
    expect(item.fact("Status")).to_have_text("Done")
    expect_clean(browsing, lead_page, counselor_page)


def test_an_officer_reads_the_cases_as_a_school_official_not_for_the_agency(
    officer_page: Page, browsing: Browsing
) -> None:
    case = open_demo_case(officer_page, BATHROOM_WALL)
    expect(case.agency_notice).to_contain_text(
        f"You read these records as a school official, not for {OFFICER_AGENCY}."
    )
    # The officer reads the law-enforcement unit's notes; a counseling note only in summary.
    expect(case.notes).to_contain_text("hunting rifles in a gun safe")
    expect(case.notes).to_contain_text("The full note is readable by its discipline only.")
    person = case.open_person(SUBJECT)
    expect(person.agency_notice).to_contain_text(OFFICER_AGENCY)
    expect_clean(browsing, officer_page)


def test_a_case_page_on_a_laptop_screen_is_a_png_without_sideways_scrolling(
    lead_page: Page, shots: Callable[[str], Path]
) -> None:
    lead_page.set_viewport_size(LAPTOP)
    case = open_demo_case(lead_page, BATHROOM_WALL)
    expect(case.heading).to_be_in_viewport()
    lead_page.screenshot(path=str(shots("case-first-screen")))
    case.screenshot(str(shots("case")))
    assert lead_page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    ), "the case page scrolls sideways at 1366 px"
    for name in ("case-first-screen", "case"):
        data = shots(name).read_bytes()
        assert data.startswith(PNG_SIGNATURE), f"{name}.png is not a PNG"
        assert len(data) > 20_000, f"{name}.png is suspiciously small ({len(data)} bytes)"


# Faults of the case page that the tests above work around; strict, so that the fix shows.


def test_every_label_on_a_case_page_names_a_field_of_its_own_form(lead_page: Page) -> None:
    case = open_demo_case(lead_page, BATHROOM_WALL)
    assert case.mislabelled_fields() == []
