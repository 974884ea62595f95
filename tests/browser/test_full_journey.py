"""One threat from its report to its closure, in a real browser against a real gunicorn.

A teacher at Riverbend High School reports a student's threat; the team's lead triages it
into a case; the members record sourced facts and answer the assessment's questions; the
quorum confirms a determination, each with their own sign-in and second factor; the notices
are recorded; the lead builds a plan with a counselor as owner, who logs a session; a
referral to community mental health is sent with the parent's consent and its disclosure
shows on the student's record; the team meets and minutes the case; a review is recorded,
the plan's items are done, the case is closed and found again in the student's history.

The people are newcomers the administrator adds (``newcomers``) on the demo district.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from btam.demo import TEAM
from tests.browser.checks import Look
from tests.browser.live import Browsing, expect_clean
from tests.browser.people import COUNSELOR, LEAD, OFFICER, SCHOOL_NAMES, Enrol, Newcomer
from tests.browser.test_assessment import PSYCH
from tests.support.pages import CasePage

pytestmark = pytest.mark.browser

TEACHER = Newcomer("teacher.ames", "Daniel Ames", "Staff", schools=(SCHOOL_NAMES["RHS"],))
STUDENT = ("Jonah", "Whitfield")
STUDENT_ID = "RHS-480215"
LEARNED_ON = "2026-11-30"
AGENCY = "Riverbend Community Mental Health Center"


def _fact_label(source: str) -> re.Pattern[str]:
    """How the answer and determination forms name a fact of ours."""
    return re.compile(rf"^Fact \d+ \({re.escape(source.lower())}, {LEARNED_ON}\)$")


def _flash(look: Look, page: Page, text: str) -> None:
    expect(page.locator(".flash")).to_contain_text(text)
    look(page)


def _report(look: Look, teacher: Page) -> str:
    """The teacher reports the threat; the report's number as the confirmation shows it."""
    teacher.goto("/reports/new")
    look(teacher)
    teacher.get_by_label("School", exact=True).select_option(label=SCHOOL_NAMES["RHS"])
    teacher.get_by_label("Where").fill("Room 114, chemistry lab")
    teacher.get_by_label("What was said or done").fill(
        "Jonah told his lab partner he would 'bring something' on Friday and that the people "
        "who laughed at him would not laugh again."
    )
    subject = teacher.get_by_role("group", name="Person 1")
    subject.get_by_label("Given name").fill(STUDENT[0])
    subject.get_by_label("Family name").fill(STUDENT[1])
    subject.get_by_label("Student id").fill(STUDENT_ID)
    teacher.get_by_role("button", name="Send the report").click()
    sent = teacher.get_by_text(re.compile(r"report #\d+")).inner_text()
    found = re.search(r"#(\d+)", sent)
    assert found is not None, sent
    look(teacher)
    return found.group(1)


def _triage(look: Look, lead: Page, report_id: str) -> str:
    """The lead opens a case from the report (the triage leads to it); its number."""
    lead.goto(f"/triage/{report_id}")
    expect(lead.get_by_role("region", name="What was said or done")).to_contain_text(
        "bring something"
    )
    look(lead)
    lead.get_by_label("Was a threat communicated?").select_option(label="Yes")
    lead.get_by_label("Opened a case").check()
    lead.get_by_label("Team that takes the case").select_option(label=TEAM)
    lead.get_by_label("Case summary").fill(
        "Jonah said he would 'bring something' on Friday for those who laughed at him."
    )
    lead.get_by_role("button", name="Record the triage").click()
    number = CasePage(lead).expect_shown().number
    look(lead)
    return number


def _record_fact(look: Look, page: Page, source: str, statement: str) -> None:
    facts = page.get_by_role("region", name="Facts", exact=True)
    facts.get_by_text("Record a fact", exact=True).click()
    facts.get_by_label("Source").select_option(label=source)
    facts.get_by_label("Learned on").fill(LEARNED_ON)
    facts.get_by_label("What was learned").fill(statement)
    facts.get_by_role("button", name="Record the fact").click()
    _flash(look, page, "Fact recorded.")


def _answer(look: Look, page: Page, key: str, value: str, fact: re.Pattern[str]) -> None:
    item = page.get_by_role("region", name="Questions", exact=True).locator(f"#q-{key}")
    item.locator("summary").click()
    item.get_by_label(value, exact=True).check()
    item.get_by_label(fact).check()
    item.get_by_role("button", name="Save the answer").click()
    expect(page.locator(f"#q-{key}")).to_contain_text(f"Answer: {value} — from fact")
    look(page)


def _determine(look: Look, lead: Page) -> None:
    determinations = lead.get_by_role("region", name="Determinations", exact=True)
    determinations.get_by_text("Record a determination", exact=True).click()
    determinations.get_by_label("Classification").select_option("substantive_serious")
    determinations.get_by_label("Level of concern").select_option("high")
    determinations.get_by_label("Rationale").fill(
        "A threat to specific classmates on a named day; no weapon access found."
    )
    determinations.get_by_label(_fact_label("Observation")).check()
    determinations.get_by_label(_fact_label("Weapons-access inquiry")).check()
    determinations.get_by_label(PSYCH.name, exact=False).check()
    determinations.get_by_label(OFFICER.name, exact=False).check()
    determinations.get_by_role("button", name="Record the determination").click()
    _flash(look, lead, "every participant confirms it")


def _confirm(look: Look, page: Page, number: str) -> None:
    page.goto("/dashboard")
    look(page)
    waiting = page.get_by_role("region", name="Determinations to confirm")
    waiting.get_by_role("link", name=f"Case {number}").click()
    CasePage(page).expect_shown()
    look(page)
    mine = page.get_by_role("region", name="Determinations", exact=True)
    mine.get_by_label("I confirm this determination").check()
    mine.get_by_role("button", name="Send my answer").click()
    _flash(look, page, "Your answer is recorded.")


def _notice(
    look: Look, lead: Page, kind: str, recipient: str, *, reached: str | None = None
) -> None:
    notices = lead.get_by_role("region", name="Notices and reports", exact=True)
    notices.get_by_text("Record a notice", exact=True).click()
    notices.get_by_label("Notice", exact=True).select_option(label=kind)
    notices.get_by_label("To whom").fill(recipient)
    notices.get_by_label("On", exact=True).fill(LEARNED_ON)
    notices.get_by_label("How", exact=True).select_option(label="Telephone")
    if reached is not None:
        notices.get_by_label("Parents reached").select_option(label=reached)
    notices.get_by_role("button", name="Record the notice").click()
    expect(
        lead.get_by_role("region", name="Notices and reports", exact=True).get_by_role("listitem")
    ).to_contain_text([kind])
    look(lead)


def _refer(look: Look, lead: Page) -> None:
    referrals = lead.get_by_role("region", name="Referrals", exact=True)
    referrals.get_by_text("Draft a referral", exact=True).click()
    form = referrals.locator("form[action$='/referrals']")
    form.get_by_label("Referred to").select_option("community_mental_health")
    form.get_by_label("Agency").fill(AGENCY)
    form.get_by_label("Reason for the referral").fill("Counseling for anger and isolation.")
    form.get_by_label("Parent consent").select_option("obtained")
    form.get_by_label("Date of the written consent").fill(LEARNED_ON)
    form.get_by_label("Records the consent names").fill("The threat assessment summary")
    form.get_by_label("Purpose it names").fill("Counseling intake")
    form.get_by_label("Recipient it names").fill(AGENCY)
    form.get_by_label("First follow-up").fill("2099-01-15")
    form.get_by_role("button", name="Draft the referral").click()
    _flash(look, lead, "Referral drafted.")
    for move, follow_up, status in (
        ("send", "2099-01-20", "is now sent"),
        ("start_service", "", "service started"),
        ("complete", "", "completed"),
    ):
        article = lead.locator("article.referral")
        article.get_by_text("Record a step").click()
        step = article.locator("form[action$='/move']")
        step.get_by_label("Step").select_option(move)
        if follow_up:
            step.get_by_label("Next follow-up").fill(follow_up)
        step.get_by_role("button", name="Record the step").click()
        expect(lead.locator(".flash")).to_contain_text(re.compile(status, re.IGNORECASE))
        if move == "send":
            expect(lead.locator("article.referral")).to_contain_text("recorded as a disclosure")
        look(lead)


def _meet(look: Look, lead: Page, psych: Page, number: str) -> Page:
    """The lead schedules a meeting, builds its agenda, records who came and the minutes."""
    lead.goto("/meetings/")
    look(lead)
    schedule = lead.get_by_role("region", name="Schedule a meeting")
    schedule.get_by_label("Team", exact=True).select_option(label=TEAM)
    schedule.get_by_label("Date").fill((date.today() + timedelta(days=1)).isoformat())
    schedule.get_by_label("Time").fill("15:30")
    schedule.get_by_label("Place").fill("Room 210, main office")
    schedule.get_by_role("button", name="Schedule").click()
    _flash(look, lead, "Meeting scheduled.")
    lead.get_by_role("button", name="Build the agenda from the team's work").click()
    _flash(look, lead, "The agenda holds the team's work as of now.")
    agenda = lead.get_by_role("region", name="Agenda", exact=True)
    agenda.get_by_text("Add to the agenda", exact=True).click()
    agenda.get_by_label("Case number").fill(number)
    agenda.get_by_role("button", name="Add the case").click()
    _flash(look, lead, "Case added to the agenda.")
    for who, discipline in ((LEAD, "administrator"), (PSYCH, "mental health")):
        attendance = lead.get_by_role("region", name="Attendance", exact=True)
        attendance.get_by_text("Record a team member as present", exact=True).click()
        attendance.get_by_label("Team member").select_option(label=f"{who.name} ({discipline})")
        attendance.get_by_role("button", name="Record as present").click()
        expect(lead.get_by_role("region", name="Attendance", exact=True)).to_contain_text(who.name)
        look(lead)
    meeting_url = lead.url.split("#")[0]
    # Each present member acknowledges confidentiality with their own sign-in.
    for page in (lead, psych):
        page.goto(meeting_url)
        look(page).get_by_role("button", name="Acknowledge", exact=True).click()
        _flash(look, page, "Confidentiality acknowledgement recorded.")
    lead.goto(meeting_url)
    look(lead)
    expect(lead.get_by_role("region", name="Attendance", exact=True)).not_to_contain_text(
        "not yet acknowledged"
    )
    item = lead.locator("ol.agenda > li").filter(has_text=f"Case {number}").last
    item.get_by_role("link", name="Minutes and decisions").click()
    expect(lead.get_by_role("heading", level=1)).to_contain_text(f"case {number}")
    look(lead)
    lead.get_by_role("textbox", name="Minutes").fill(
        "Jonah meets the counselor weekly; the referral's intake is done. Decision: review "
        "the plan and close when the items are done."
    )
    lead.get_by_role("button", name="Record the minutes").click()
    expect(lead.locator(".minute")).to_contain_text("review the plan and close")
    look(lead).goto(meeting_url)
    expect(lead.locator("ol.agenda")).to_contain_text("review the plan and close")
    look(lead)
    return lead


def test_a_threat_goes_from_a_teachers_report_to_a_closed_case_in_the_students_history(
    browsing: Browsing, newcomers: Enrol, look: Look
) -> None:
    teacher = browsing.new_page(storage_state=newcomers(TEACHER))
    lead = browsing.new_page(storage_state=newcomers(LEAD))
    psych = browsing.new_page(storage_state=newcomers(PSYCH))
    officer = browsing.new_page(storage_state=newcomers(OFFICER))
    counselor = browsing.new_page(storage_state=newcomers(COUNSELOR))

    # Report and triage.
    report_id = _report(look, teacher)
    number = _triage(look, lead, report_id)
    case = CasePage(lead)
    expect(case.fact("School")).to_have_text(SCHOOL_NAMES["RHS"])
    expect(case.people).to_contain_text(" ".join(STUDENT))

    # Facts with their sources, answers resting on them.
    _record_fact(look, lead, "Observation", "Jonah sat alone at lunch all week and wrote 'Friday'.")
    _answer(look, lead, "communications", "Yes", _fact_label("Observation"))
    officer.goto(f"/cases/{number}")
    look(officer)
    _record_fact(
        look,
        officer,
        "Weapons-access inquiry",
        "The family keeps no firearm; the parents confirm it.",
    )
    _answer(look, officer, "capacity", "No", _fact_label("Weapons-access inquiry"))

    # The determination, confirmed by each participant's own sign-in.
    lead.goto(f"/cases/{number}")
    look(lead)
    _determine(look, lead)
    for page in (psych, officer):
        _confirm(look, page, number)
    case = CasePage(lead).open(number)
    look(lead)
    expect(case.fact("Status")).to_have_text("Management")
    expect(case.fact("Level of concern")).to_have_text("High")

    # The superintendent's report and the parents' notice.
    expect(lead.locator(".outstanding")).to_contain_text("Report to the superintendent")
    _notice(look, lead, "Report to the superintendent or designee", "Dr. Amy Chen, superintendent")
    _notice(look, lead, "Attempt to notify the parents", "Ms. Whitfield, mother", reached="Yes")

    # The plan, its owner the counselor.
    plan = lead.get_by_role("region", name="Management plan")
    plan.locator("summary", has_text="Add to the plan").click()
    plan.get_by_label("Intervention").select_option(label="School counseling")
    plan.get_by_label("Aimed at").select_option(label="The subject")
    plan.get_by_label("Owner").select_option(label=COUNSELOR.choice)
    plan.get_by_label("Due", exact=True).fill("2099-02-01")
    plan.get_by_label("Description").fill("Weekly sessions on anger and friendships.")
    plan.get_by_role("button", name="Add to the plan").click()
    expect(lead.get_by_role("region", name="Management plan")).to_contain_text(COUNSELOR.name)
    look(lead)

    # The counselor logs a session on the item.
    counselor.goto(f"/cases/{number}")
    mine = look(counselor).get_by_role("region", name="Your work on this case")
    mine.get_by_role("link", name="School counseling").click()
    expect(counselor.get_by_role("region", name="Sessions and contacts")).to_be_visible()
    look(counselor)
    counselor.get_by_label("Day").fill(LEARNED_ON)
    counselor.get_by_label("Duration (minutes)").fill("45")
    counselor.get_by_label("Kind").select_option(label="Individual")
    counselor.get_by_label("Private notes").fill("Jonah spoke of his father's absence.")
    counselor.get_by_label("Summary for the team").fill("First session held; Jonah engaged.")
    counselor.get_by_role("button", name="Log it").click()
    expect(counselor.get_by_role("region", name="Sessions and contacts")).to_contain_text(
        "First session held"
    )
    look(counselor)
    item_url = counselor.url

    # The referral, sent with consent, and its disclosure on the student's record.
    lead.goto(f"/cases/{number}")
    look(lead)
    _refer(look, lead)
    CasePage(lead).people.get_by_role("link", name=" ".join(STUDENT)).click()
    disclosures = lead.get_by_role("region", name="Record of disclosures")
    expect(disclosures).to_contain_text(AGENCY)
    expect(disclosures).to_contain_text(number)
    look(lead)

    # The team meets.
    _meet(look, lead, psych, number)

    # A review, the item done, the case closed.
    lead.goto(f"/cases/{number}")
    look(lead)
    reviews = lead.get_by_role("region", name="Reviews", exact=True)
    reviews.get_by_text("Record a review", exact=True).click()
    reviews.get_by_label("What changed").fill("Sessions weekly; referral intake completed.")
    reviews.get_by_role("button", name="Record the review").click()
    expect(lead.get_by_role("region", name="Reviews", exact=True)).to_contain_text(
        "referral intake completed"
    )
    look(lead)
    counselor.goto(item_url)
    look(counselor)
    counselor.get_by_label("Progress note").fill("Six sessions held; goals met.")
    counselor.get_by_role("button", name="Add the note").click()
    _flash(look, counselor, "Progress note added.")
    # The owner reads its own note on its item's page, and the team reads it too.
    expect(counselor.get_by_role("region", name="Progress")).to_contain_text("goals met")
    lead.goto(item_url)
    expect(lead.get_by_role("region", name="Progress")).to_contain_text("goals met")
    look(lead)
    counselor.get_by_label("New status").select_option(label="Done")
    counselor.get_by_role("button", name="Record the status").click()
    expect(counselor.locator("dl.facts")).to_contain_text("Done")
    look(counselor)

    lead.goto(f"/cases/{number}")
    look(lead)
    closing = lead.locator("#closing")
    expect(closing.locator(".outstanding")).to_have_count(0)
    closing.locator("summary", has_text="Close the case").click()
    closing.get_by_label("Closing rationale").fill("The plan is complete; no threat remains.")
    closing.get_by_label("Final review").fill("Counseling done, referral completed, no incident.")
    closing.get_by_role("button", name="Close the case").click()
    # The case's own status is the first (a referral on the page has a status too).
    expect(CasePage(lead).expect_shown().fact("Status").first).to_have_text("Closed")
    look(lead)

    # Found again in the student's history.
    lead.goto("/people/search")
    look(lead)
    lead.get_by_label("Student id").fill(STUDENT_ID)
    lead.get_by_role("button", name="Search").click()
    found = lead.locator("main li").filter(has_text=" ".join(STUDENT))
    expect(found).to_contain_text(f"{number} (Subject, Closed)")
    look(lead)
    found.get_by_role("link", name=" ".join(STUDENT)).click()
    expect(lead.get_by_role("region", name="Cases")).to_contain_text(f"{number} — Subject, Closed")
    look(lead)

    expect_clean(browsing, teacher, lead, psych, officer, counselor)
