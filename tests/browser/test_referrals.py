"""A team refers a student in a real browser: the referral drafted with the parent's consent,
sent (its disclosure recorded), and its letter printed without its screen-only parts.

The newcomer lead of the demo team (``lead.vance``) opens a case for the student first.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import StorageState, expect

from tests.browser.checks import Look
from tests.browser.live import Browsing, expect_clean
from tests.browser.people import LEAD, Enrol
from tests.support.pages import CasePage, NewCasePage

pytestmark = pytest.mark.browser


@pytest.fixture
def state(newcomers: Enrol) -> StorageState:
    return newcomers(LEAD)


def test_a_referral_is_sent_with_its_disclosure_and_its_letter_prints_the_notice(
    browsing: Browsing, state: StorageState, look: Look
) -> None:
    lead = browsing.new_page(storage_state=state)
    new = NewCasePage(lead).open()
    look(lead)
    new.given_name.fill("Theo")
    new.family_name.fill("Lindgren")
    new.summary.fill("Theo told a classmate he would 'make them pay' after the suspension.")
    new.open_button.click()
    look(CasePage(lead).expect_shown().page)

    referrals = lead.get_by_role("region", name="Referrals", exact=True)
    referrals.get_by_text("Draft a referral", exact=True).click()
    form = referrals.locator("form[action$='/referrals']")
    form.get_by_label("Referred to").select_option("community_mental_health")
    form.get_by_label("Agency").fill("Northside Youth Counseling")
    form.get_by_label("Reason for the referral").fill("Counseling for anger after a suspension.")
    form.get_by_label("Parent consent").select_option("obtained")
    form.get_by_label("Date of the written consent").fill("2026-11-30")
    form.get_by_label("Records the consent names").fill("The threat assessment summary")
    form.get_by_label("Purpose it names").fill("Counseling intake")
    form.get_by_label("Recipient it names").fill("Northside Youth Counseling")
    form.get_by_label("First follow-up").fill("2099-01-15")
    form.get_by_role("button", name="Draft the referral").click()
    expect(lead.locator(".flash")).to_contain_text("Referral drafted.")
    look(lead)

    article = lead.locator("article.referral")
    expect(article).to_contain_text("Drafted")
    article.get_by_text("Record a step").click()
    step = article.locator("form[action$='/move']")
    step.get_by_label("Step").select_option("send")
    step.get_by_label("Next follow-up").fill("2099-01-20")
    step.get_by_role("button", name="Record the step").click()
    expect(lead.locator(".flash")).to_contain_text("is now sent")
    expect(lead.locator("article.referral")).to_contain_text("recorded as a disclosure")
    look(lead)

    lead.locator("article.referral").get_by_role("link", name="Referral letter").click()
    expect(lead.get_by_role("heading", level=1)).to_have_text("Referral: Community mental health")
    look(lead)
    notice = lead.get_by_role("complementary", name="Notice: no redisclosure")
    expect(notice).to_contain_text("may not disclose this information to any other party")
    assert lead.locator("script").count() == 0
    back = lead.get_by_role("link", name="← Back to case")
    expect(back).to_be_visible()
    lead.emulate_media(media="print")
    expect(back).to_be_hidden()
    expect(notice).to_be_visible()
    expect_clean(browsing, lead)
