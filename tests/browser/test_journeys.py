"""Whole journeys as people make them, in a real browser against a real gunicorn.

The people are newcomers the administrator adds (``newcomers``), each signing in with a
password and, but for staff, a second factor; they work on the demo district.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, StorageState, expect

from btam.demo.cases import PARENT_GUN
from tests.browser.checks import PHONE, Look, sideways_overflow
from tests.browser.demo_cases import number_of
from tests.browser.live import Browsing, expect_clean
from tests.browser.people import AUDITOR, COUNSELOR, LEAD, SCHOOL_NAMES, Enrol, Newcomer
from tests.support.pages import CaseListPage

pytestmark = pytest.mark.browser

CODE = re.compile(r"[A-Z2-9]{4}(?:-[A-Z2-9]{4}){5}")
TEACHER = Newcomer("teacher.okoro", "Grace Okoro", "Staff", schools=(SCHOOL_NAMES["RHS"],))
# A counselor of her own, so that no other module's use of COUNSELOR (who may already hold
# a grant on the demo's cases) changes what this journey finds.
GRANTEE = Newcomer("counselor.vale", "Rosa Vale", "Counselor", schools=(SCHOOL_NAMES["RHS"],))
THREAT = "A parent called: the student said at home he will shoot a classmate at lunch today."


def _signed_in(browsing: Browsing, state: StorageState) -> Page:
    return browsing.new_page(storage_state=state)


def test_an_anonymous_tipster_on_a_phone_hears_back_with_the_code_alone(
    browsing: Browsing, newcomers: Enrol, look: Look
) -> None:
    tipster = browsing.new_page()
    tipster.set_viewport_size(PHONE)
    tipster.goto("/tip")
    assert sideways_overflow(tipster) == 0
    look(tipster)
    tipster.get_by_label("School").select_option(label=SCHOOL_NAMES["RHS"])
    tipster.get_by_label("A weapon").check()
    tipster.get_by_label("What happened, or what do you know?").fill(
        "A boy in the bus line showed a pocket knife and said he'd use it after school."
    )
    tipster.get_by_role("button", name="Send the tip").click()
    code = tipster.get_by_label("Your follow-up code").inner_text()
    assert CODE.fullmatch(code), code
    look(tipster)

    lead = _signed_in(browsing, newcomers(LEAD))
    look(lead).goto("/triage/")
    look(lead).locator("main table a[href^='/triage/']").last.click()
    expect(lead.get_by_role("region", name="What was said or done")).to_contain_text(
        "showed a pocket knife"
    )
    look(lead).get_by_label("Reply to the tipster").fill(
        "Thank you. Which bus line, and which day?"
    )
    lead.get_by_role("button", name="Send", exact=True).click()
    expect(lead.get_by_text("Which bus line, and which day?")).to_be_visible()
    look(lead)

    # Later, on the same phone with nothing kept but the code.
    later = browsing.new_page()
    later.set_viewport_size(PHONE)
    later.goto("/tip/follow-up")
    look(later).get_by_label("Your follow-up code").fill(code)
    later.get_by_role("button", name="Open my tip").click()
    expect(later.get_by_text("Which bus line, and which day?")).to_be_visible()
    assert sideways_overflow(later) == 0
    look(later)
    expect_clean(browsing, tipster, lead, later)


def test_an_auditor_finds_every_view_of_a_case_by_number_and_reviews_its_grant(
    browsing: Browsing, newcomers: Enrol, look: Look
) -> None:
    lead = _signed_in(browsing, newcomers(LEAD))
    cases = CaseListPage(lead).open()
    number = number_of(cases, PARENT_GUN)
    look(lead)
    lead.goto(f"/cases/{number}")
    look(lead)

    # A counselor of another school takes emergency access and reads the case.
    counselor = _signed_in(browsing, newcomers(GRANTEE))
    counselor.goto("/cases/emergency-access")
    look(counselor).get_by_label("Case number").fill(number)
    counselor.get_by_label("The articulable and significant threat").fill(THREAT)
    counselor.get_by_label("Who needs the information").fill("The principal and the SRO")
    counselor.get_by_role("button", name="Take emergency access").click()
    expect(counselor.get_by_role("heading", level=1)).to_have_text(f"Case {number}")
    look(counselor).goto(f"/cases/{number}")
    expect(counselor.get_by_role("heading", level=1)).to_have_text(f"Case {number}")
    look(counselor)

    auditor = _signed_in(browsing, newcomers(AUDITOR))
    auditor.goto("/audit/")
    look(auditor).get_by_label("Case number").fill(number)
    auditor.get_by_label("Action").select_option("case:record:viewed")
    auditor.get_by_role("button", name="Show entries").click()
    rows = auditor.locator("table.trail tbody tr")
    expect(rows.filter(has_text=GRANTEE.name).first).to_be_visible()
    expect(rows.filter(has_text=LEAD.name).first).to_be_visible()
    for row in rows.all():
        expect(row).to_contain_text(f"case {number}")
    look(auditor)

    auditor.goto("/audit/grants")
    look(auditor)
    grant = auditor.locator("section.grant").filter(has_text=THREAT)
    expect(grant).to_contain_text(GRANTEE.name)
    expect(grant).to_contain_text("case:record:viewed")
    verdict = grant.get_by_label("Verdict")
    expect(verdict).to_have_value("")
    verdict.select_option("justified")
    grant.get_by_role("button", name="Record review").click()
    expect(auditor.locator("section.grant").filter(has_text=THREAT)).to_contain_text(
        "Reviewed: justified"
    )
    look(auditor)
    answer = auditor.goto(f"/cases/{number}")
    assert answer is not None and answer.status in (403, 404)
    look(auditor)
    expect_clean(browsing, lead, counselor)


def test_an_imminent_danger_report_raises_the_banner_for_the_team_at_once(
    browsing: Browsing, newcomers: Enrol, look: Look
) -> None:
    lead = _signed_in(browsing, newcomers(LEAD))
    counselor = _signed_in(browsing, newcomers(COUNSELOR))
    teacher = _signed_in(browsing, newcomers(TEACHER))
    teacher.goto("/reports/new")
    look(teacher).get_by_label("School", exact=True).select_option(label=SCHOOL_NAMES["RHS"])
    teacher.get_by_label("What was said or done").fill(
        "A student in room 114 says he has a gun in his locker and is going to get it now."
    )
    teacher.get_by_label("Someone is in danger right now").check()
    teacher.get_by_role("button", name="Send the report").click()
    expect(teacher.get_by_role("alert")).to_contain_text("Call 911 now")
    look(teacher)
    sent = teacher.get_by_text(re.compile(r"report #\d+")).inner_text()
    report_id = re.search(r"#(\d+)", sent)
    assert report_id is not None

    lead.goto("/dashboard")
    banner = look(lead).locator(".alert-imminent")
    expect(banner).to_contain_text("Imminent danger reported")
    expect(
        banner.get_by_role("link", name=re.compile(rf"Report #{report_id.group(1)},"))
    ).to_be_visible()
    # The counselor does not triage: no banner to act on.
    counselor.goto("/dashboard")
    expect(look(counselor).locator(".alert-imminent")).to_have_count(0)
    expect_clean(browsing, lead, counselor, teacher)
