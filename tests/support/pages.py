"""Page objects for the browser tests: what a person sees and does on each page of BTAM.

Tests speak in these terms ("sign in", "turn on two-step sign-in", "add a user") and never
in selectors, so a change of markup is fixed here once. Locators are the accessible ones a
screen-reader user relies on (labels, roles, names); the only ids used are the ones the
templates give for exactly this purpose (``#totp-secret``, ``#recovery-codes``,
``#temporary-password``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import urlsplit

import pyotp
from playwright.sync_api import Locator, Page, expect

STEP_SECONDS = 30


class AuthenticatorApp:
    """A person's authenticator app for one account, and the recovery codes they stored.

    The server refuses a code of a step at or before the last one it accepted (replay) and
    accepts one step either side of now. So the app hands out the next unused step while
    that is still inside the window, and a stored recovery code once it is not.
    """

    def __init__(self, secret: str) -> None:
        self.secret = "".join(secret.split())
        self.recovery_codes: list[str] = []
        self._last_step: int | None = None

    def code(self) -> str:
        """A code the server accepts now: TOTP of an unused step, else a recovery code."""
        now = int(time.time() // STEP_SECONDS)
        step = now if self._last_step is None else max(now, self._last_step + 1)
        if step > now + 1:
            # A third sign-in of one account within one step: the window is used up.
            return self.recovery_codes.pop()
        self._last_step = step
        return pyotp.TOTP(self.secret).at(step * STEP_SECONDS)


@dataclass
class Keyring:
    """The authenticator apps of everyone who enrolled on one server, by user name."""

    apps: dict[str, AuthenticatorApp] = field(default_factory=dict)

    def __getitem__(self, username: str) -> AuthenticatorApp:
        return self.apps[username]


def path_of(url: str) -> str:
    return urlsplit(url).path


MISLABELLED = """() => [...document.querySelectorAll("label[for]")]
  .filter((label) => !label.control || label.control.form !== label.closest("form"))
  .map((label) => `${label.textContent.trim()} (for="${label.htmlFor}")`)"""

# The colour of an element's text and the first background behind it that is not transparent.
INK_AND_PAPER = """(element) => {
  let behind = element;
  while (behind && getComputedStyle(behind).backgroundColor === "rgba(0, 0, 0, 0)") {
    behind = behind.parentElement;
  }
  return [getComputedStyle(element).color,
          behind ? getComputedStyle(behind).backgroundColor : "rgb(255, 255, 255)"];
}"""


def ink_and_paper(element: Locator) -> tuple[str, str]:
    """The colour of ``element``'s text, and of the background it is shown on."""
    ink, paper = element.evaluate(INK_AND_PAPER)
    return ink, paper


class BTAMPage:
    """What every page has: a skip link, the header, the signed-in person, sign-out."""

    path = "/"

    def __init__(self, page: Page) -> None:
        self.page = page

    def expect_shown(self) -> Self:
        expect(self.page).to_have_url(re.compile(rf"^[^?#]*{re.escape(self.path)}([?#].*)?$"))
        return self

    @property
    def heading(self) -> Locator:
        return self.page.get_by_role("heading", level=1)

    @property
    def main(self) -> Locator:
        return self.page.get_by_role("main")

    @property
    def skip_link(self) -> Locator:
        return self.page.get_by_role("link", name="Skip to main content")

    @property
    def brand_link(self) -> Locator:
        return self.page.get_by_role("banner").get_by_role("link", name="BTAM", exact=True)

    @property
    def signed_in_as(self) -> Locator:
        """The header's "Name · Role" of the signed-in person."""
        return self.page.get_by_role("banner").get_by_text(" · ")

    @property
    def flash(self) -> Locator:
        return self.page.get_by_role("status")

    @property
    def sign_out_button(self) -> Locator:
        return self.page.get_by_role("button", name="Sign out")

    def sign_out(self) -> LoginPage:
        self.sign_out_button.click()
        return LoginPage(self.page).expect_shown()

    def screenshot(self, path: str) -> bytes:
        return self.page.screenshot(path=path, full_page=True)

    def mislabelled_fields(self) -> list[str]:
        """Labels that name no field of their own form: their ``for`` finds nothing, or a
        field elsewhere (an id used twice). A screen reader names such fields wrongly or not
        at all, and clicking the label moves to another form."""
        found: list[str] = self.page.evaluate(MISLABELLED)
        return found


class LoginPage(BTAMPage):
    path = "/login"

    def open(self, next_path: str | None = None) -> LoginPage:
        self.page.goto(self.path if next_path is None else f"{self.path}?next={next_path}")
        return self.expect_shown()

    def expect_shown(self) -> Self:
        super().expect_shown()
        expect(self.heading).to_have_text("Sign in")
        return self

    @property
    def user_name(self) -> Locator:
        return self.page.get_by_label("User name")

    @property
    def password(self) -> Locator:
        return self.page.get_by_label("Password", exact=True)

    @property
    def sign_in_button(self) -> Locator:
        return self.page.get_by_role("button", name="Sign in")

    def submit(self, username: str, password: str) -> BTAMPage:
        """Type the user name and password and press the button; return the next step."""
        self.user_name.fill(username)
        self.password.fill(password)
        self.sign_in_button.click()
        return moved_on_from(self.page, self.path)


class SecondFactorPage(BTAMPage):
    path = "/login/code"

    @property
    def code(self) -> Locator:
        return self.page.get_by_label("Code from your authenticator app, or a recovery code")

    def submit(self, code: str) -> BTAMPage:
        self.code.fill(code)
        self.page.get_by_role("button", name="Continue").click()
        return moved_on_from(self.page, self.path)


class EnrolPage(BTAMPage):
    """Two-step sign-in set-up: a QR code, the same key as text, and a code to confirm it."""

    path = "/login/setup"

    def expect_shown(self) -> Self:
        super().expect_shown()
        expect(self.heading).to_have_text("Set up two-step sign-in")
        return self

    @property
    def qr_code(self) -> Locator:
        return self.page.get_by_role("figure", name="QR code for your authenticator app")

    @property
    def key(self) -> Locator:
        return self.page.locator("#totp-secret")

    @property
    def code(self) -> Locator:
        return self.page.get_by_label("Six-digit code the app shows now")

    def add_to_authenticator(self) -> AuthenticatorApp:
        """Type the key shown (the "cannot scan?" way) into a new authenticator app."""
        return AuthenticatorApp(self.key.inner_text())

    def turn_on(self, app: AuthenticatorApp) -> RecoveryCodesPage:
        self.code.fill(app.code())
        self.page.get_by_role("button", name="Turn on two-step sign-in").click()
        return RecoveryCodesPage(self.page).expect_shown()


class RecoveryCodesPage(BTAMPage):
    """Ten recovery codes, shown once, then on with the sign-in."""

    path = "/login/setup"

    def expect_shown(self) -> Self:
        expect(self.heading).to_have_text("Your recovery codes")
        return self

    @property
    def codes(self) -> Locator:
        return self.page.locator("#recovery-codes").get_by_role("listitem")

    def store_codes(self, app: AuthenticatorApp) -> None:
        app.recovery_codes = [code.strip() for code in self.codes.all_inner_texts()]

    def continue_(self) -> BTAMPage:
        self.page.get_by_role("button", name="I have stored my codes — continue").click()
        return moved_on_from(self.page, self.path)


class DashboardPage(BTAMPage):
    path = "/dashboard"

    @classmethod
    def visit(cls, page: Page) -> BTAMPage:
        """Go to the dashboard by its address; return wherever the app sends the browser."""
        page.goto(cls.path)
        return landed_on(page)

    def expect_shown(self) -> Self:
        super().expect_shown()
        expect(self.heading).to_have_text(re.compile(r"^Welcome, "))
        return self

    @property
    def signed_in_role(self) -> Locator:
        return self.main.get_by_text("You are signed in as")


class PasswordChangePage(BTAMPage):
    path = "/account/password"

    def open(self) -> PasswordChangePage:
        self.page.goto(self.path)
        return self.expect_shown()

    @property
    def forced_notice(self) -> Locator:
        return self.main.get_by_text("Choose your own password before you continue.")

    def change(self, current: str, new: str) -> BTAMPage:
        self.page.get_by_label("Current password").fill(current)
        self.page.get_by_label("New password").fill(new)
        self.page.get_by_role("button", name="Change password").click()
        return moved_on_from(self.page, self.path)


class AccountPage(BTAMPage):
    path = "/account/"

    def open(self) -> AccountPage:
        self.page.goto(self.path)
        return self.expect_shown()

    @property
    def two_step(self) -> Locator:
        return self.page.get_by_role("region", name="Two-step sign-in")


class ConfirmPasswordPage(BTAMPage):
    """The password again, before changes a session alone may not make (administration)."""

    path = "/account/confirm-password"

    def open(self, back_to: str = "/account/") -> ConfirmPasswordPage:
        self.page.goto(f"{self.path}?next={back_to}")
        return self.expect_shown()

    def confirm(self, password: str) -> BTAMPage:
        self.page.get_by_label("Your password").fill(password)
        self.page.get_by_role("button", name="Confirm").click()
        return moved_on_from(self.page, self.path)


class AdminPage(BTAMPage):
    path = "/admin/"

    def open(self) -> AdminPage:
        self.page.goto(self.path)
        return self.expect_shown()

    @property
    def users(self) -> Locator:
        return self.page.get_by_role("table", name="Users")

    def user_row(self, username: str) -> Locator:
        return self.users.get_by_role("row").filter(
            has=self.page.get_by_role("cell", name=username, exact=True)
        )

    def open_user(self, name: str) -> UserPage:
        self.users.get_by_role("link", name=name, exact=True).click()
        return UserPage(self.page).expect_shown()

    def add_user(self) -> NewUserPage:
        self.page.get_by_role("link", name="Add a user").click()
        return NewUserPage(self.page).expect_shown()

    def open_team(self, name: str) -> TeamPage:
        self.page.get_by_role("link", name=name, exact=True).click()
        return TeamPage(self.page).expect_shown()

    def create_user(self, *, username: str, name: str, role: str) -> str:
        """Add a district-wide user without a discipline; return the temporary password."""
        form = (
            self.open()
            .add_user()
            .fill(username=username, name=name, role=role, whole_district=True)
        )
        return form.create().temporary_password.inner_text()


class NewUserPage(BTAMPage):
    path = "/admin/users/new"

    def fill(
        self,
        *,
        username: str,
        name: str,
        role: str,
        discipline: str = "None",
        agency: str = "",
        whole_district: bool = False,
        schools: tuple[str, ...] = (),
    ) -> NewUserPage:
        self.page.get_by_label("User name", exact=True).fill(username)
        self.page.get_by_label("Name", exact=True).fill(name)
        self.page.get_by_label("Role", exact=True).select_option(label=role)
        self.page.get_by_label("Discipline (team leads and members)").select_option(
            label=discipline
        )
        self.page.get_by_label("Agency (team members employed outside the schools)").fill(agency)
        self.page.get_by_role("checkbox", name="Works across the whole district").set_checked(
            whole_district
        )
        school_boxes = self.page.get_by_role("group", name="Schools")
        for school in schools:
            school_boxes.get_by_role("checkbox", name=school).check()
        return self

    def create(self) -> CredentialsPage:
        self.page.get_by_role("button", name="Create user").click()
        return CredentialsPage(self.page).expect_shown()


class CredentialsPage(BTAMPage):
    """The temporary password of a new or reset user, shown once."""

    path = "/admin/users/new"

    def expect_shown(self) -> Self:
        expect(self.heading).to_have_text(re.compile(r"^(User created|Password reset)$"))
        return self

    @property
    def temporary_password(self) -> Locator:
        return self.page.locator("#temporary-password")

    def back_to_user(self) -> UserPage:
        self.page.get_by_role("link", name="Back to the user").click()
        return UserPage(self.page).expect_shown()


class UserPage(BTAMPage):
    """The administrator's page of one user, with the account actions."""

    path = "/admin/users/"

    def expect_shown(self) -> Self:
        expect(self.page).to_have_url(re.compile(r"/admin/users/\d+$"))
        return self

    def reset_two_step(self) -> UserPage:
        self.page.get_by_role("button", name="Reset two-step sign-in").click()
        expect(self.flash).to_contain_text("Two-step sign-in was reset")
        return self


class TeamPage(BTAMPage):
    """The administrator's page of one team: its name, the schools it covers, its members."""

    path = "/admin/teams/"

    def expect_shown(self) -> Self:
        expect(self.page).to_have_url(re.compile(r"/admin/teams/\d+$"))
        return self

    @property
    def members(self) -> Locator:
        return self.page.get_by_role("group", name="Members")

    def add_members(self, *names: str) -> TeamPage:
        """Tick the members named (boxes read "Name — Role, Discipline") and save."""
        for name in names:
            self.members.get_by_role("checkbox", name=re.compile(rf"^{re.escape(name)} — ")).check()
        self.page.get_by_role("button", name="Save", exact=True).click()
        expect(self.flash).to_have_text("Saved.")
        return self


class AuditTrailPage(BTAMPage):
    """The auditor's trail: integrity state, filters, entries."""

    path = "/audit/"

    def open(self) -> AuditTrailPage:
        self.page.goto(self.path)
        return self.expect_shown()

    @property
    def integrity(self) -> Locator:
        return self.page.get_by_role("region", name="Integrity")

    @property
    def entries(self) -> Locator:
        return self.page.get_by_role("table", name="Audit entries, newest first")

    def show_entries(self) -> AuditTrailPage:
        self.page.get_by_role("button", name="Show entries").click()
        expect(self.entries).to_be_visible()
        return self

    def emergency_grants(self) -> BTAMPage:
        self.page.get_by_role("link", name="Emergency grants to review").click()
        expect(self.heading).to_have_text("Emergency grants")
        return BTAMPage(self.page)


# --------------------------------------------------------------------------- the case area

NOT_DETERMINED = "Not yet determined"
CASE_NUMBER = r"\d{4}-\d{4,}"


class CaseListPage(BTAMPage):
    """The cases a person may see, newest first, and the ways to a new case or a grant."""

    path = "/cases/"

    def open(self) -> CaseListPage:
        self.page.goto(self.path)
        return self.expect_shown()

    def expect_shown(self) -> Self:
        super().expect_shown()
        expect(self.heading).to_have_text("Cases")
        return self

    @property
    def cases(self) -> Locator:
        return self.page.get_by_role("table", name="Cases you may see, newest first")

    @property
    def rows(self) -> Locator:
        """The table's rows of cases (the header row left out)."""
        return self.cases.get_by_role("row").filter(has=self.page.get_by_role("cell"))

    def row_of(self, *, school: str, status: str, level: str = NOT_DETERMINED) -> Locator:
        row = self.rows
        for text in (school, status, level):
            row = row.filter(has=self.page.get_by_role("cell", name=text, exact=True))
        return row

    def number_of(self, *, school: str, status: str, level: str = NOT_DETERMINED) -> str:
        """The number of the one case at ``school`` with that status and level of concern."""
        row = self.row_of(school=school, status=status, level=level)
        expect(row).to_have_count(1)
        return row.get_by_role("link").inner_text().strip()

    def open_case(self, number: str) -> CasePage:
        self.cases.get_by_role("link", name=number, exact=True).click()
        return CasePage(self.page).expect_shown()

    def open_a_new_case(self) -> NewCasePage:
        self.page.get_by_role("link", name="Open a case").click()
        return NewCasePage(self.page).expect_shown()

    def emergency_access(self) -> EmergencyAccessPage:
        self.main.get_by_role("link", name="Emergency access").click()
        return EmergencyAccessPage(self.page).expect_shown()


class PersonFieldsPage(BTAMPage):
    """A form about a person: kind, names, date of birth and student id."""

    @property
    def kind(self) -> Locator:
        return self.page.get_by_label("Kind of person")

    @property
    def given_name(self) -> Locator:
        return self.page.get_by_label("Given name")

    @property
    def family_name(self) -> Locator:
        return self.page.get_by_label("Family name")

    @property
    def date_of_birth(self) -> Locator:
        return self.page.get_by_label("Date of birth")

    @property
    def student_id(self) -> Locator:
        return self.page.get_by_label("Student id")


class NewCasePage(PersonFieldsPage):
    path = "/cases/new"

    def open(self) -> NewCasePage:
        self.page.goto(self.path)
        return self.expect_shown()

    def expect_shown(self) -> Self:
        super().expect_shown()
        expect(self.heading).to_have_text("Open a case")
        return self

    @property
    def team_and_school(self) -> Locator:
        return self.page.get_by_label("Team and school")

    @property
    def summary(self) -> Locator:
        return self.page.get_by_label("What brought this to the team")

    @property
    def open_button(self) -> Locator:
        return self.page.get_by_role("button", name="Open the case")


class CasePage(BTAMPage):
    """One case: its header, and what the person's relation to the case lets them see."""

    path = "/cases/"

    def open(self, number: str) -> CasePage:
        self.page.goto(f"{self.path}{number}")
        return self.expect_shown()

    def expect_shown(self) -> Self:
        expect(self.page).to_have_url(re.compile(rf"/cases/{CASE_NUMBER}(#[\w-]*)?$"))
        expect(self.heading).to_have_text(re.compile(rf"^Case {CASE_NUMBER}$"))
        return self

    @property
    def number(self) -> str:
        return self.heading.inner_text().removeprefix("Case ").strip()

    @property
    def fact_names(self) -> Locator:
        """The terms of the case's header: school, team, status and so on."""
        return self.main.get_by_role("term")

    def fact(self, name: str) -> Locator:
        """The value the header gives for ``name`` ("School", "Status", "Lead" ...)."""
        term = self.main.get_by_role("term").filter(has_text=re.compile(rf"^{re.escape(name)}$"))
        return term.locator("xpath=following-sibling::dd[1]")

    @property
    def agency_notice(self) -> Locator:
        return self.page.get_by_role("note").filter(
            has_text="You read these records as a school official"
        )

    @property
    def summary(self) -> Locator:
        return self.page.get_by_role("region", name="Summary", exact=True)

    @property
    def people(self) -> Locator:
        return self.page.get_by_role("region", name="People", exact=True)

    def person_row(self, name: str) -> Locator:
        return self.people.get_by_role("row").filter(
            has=self.page.get_by_role("link", name=name, exact=True)
        )

    def open_person(self, name: str) -> PersonPage:
        self.people.get_by_role("link", name=name, exact=True).click()
        return PersonPage(self.page).expect_shown()

    @property
    def notes(self) -> Locator:
        return self.page.get_by_role("region", name="Notes", exact=True)

    @property
    def note_items(self) -> Locator:
        return self.notes.get_by_role("article")

    # The "Add a note" disclosure widget and its form.
    @property
    def add_note_toggle(self) -> Locator:
        return self.notes.get_by_text("Add a note", exact=True)

    @property
    def note_kind(self) -> Locator:
        return self.notes.get_by_label("Kind of record")

    @property
    def note_body(self) -> Locator:
        return self.notes.get_by_label("Note", exact=True)

    @property
    def note_team_summary(self) -> Locator:
        return self.notes.get_by_label("Summary for the team")

    @property
    def add_note_button(self) -> Locator:
        return self.notes.get_by_role("button", name="Add the note")

    @property
    def attachments(self) -> Locator:
        return self.page.get_by_role("region", name="Attachments", exact=True)

    @property
    def members(self) -> Locator:
        return self.page.get_by_role("region", name="Who works this case")

    @property
    def plan(self) -> Locator:
        """The case's management plan, as the team sees it."""
        return self.page.get_by_role("region", name="Management plan")

    @property
    def your_work(self) -> Locator:
        """The one part of the case shown to someone it only gives work to."""
        return self.page.get_by_role("region", name="Your work on this case")

    @property
    def grants(self) -> Locator:
        return self.page.get_by_role("region", name="Emergency access", exact=True)

    def add_plan_item(self, *, owner: str, description: str, due: str = "") -> CasePage:
        """As the team: an "Other" intervention for the subject, owned by ``owner`` (the
        choice's label, "Name (Role)")."""
        self.plan.locator("summary", has_text="Add to the plan").click()
        self.plan.get_by_label("Intervention").select_option(label="Other")
        self.plan.get_by_label("Aimed at").select_option(label="The subject")
        self.plan.get_by_label("Owner").select_option(label=owner)
        self.plan.get_by_label("Due").fill(due)
        self.plan.get_by_label("Description").fill(description)
        self.plan.get_by_role("button", name="Add to the plan", exact=True).click()
        expect(self.flash).to_have_text("Added to the plan.")
        return self.expect_shown()

    def item_row(self, text: str) -> Locator:
        """The row of a plan item, wherever the page shows the plan."""
        return self.main.get_by_role("row").filter(has_text=text)

    def open_item(self, text: str) -> PlanItemPage:
        self.item_row(text).get_by_role("link").click()
        return PlanItemPage(self.page).expect_shown()


class PlanItemPage(BTAMPage):
    """One plan item: its progress, its status, its sessions and contacts."""

    path = "/plan/"

    def expect_shown(self) -> Self:
        expect(self.page).to_have_url(re.compile(rf"/cases/{CASE_NUMBER}/plan/[0-9]+$"))
        return self

    def fact(self, name: str) -> Locator:
        term = self.main.get_by_role("term").filter(has_text=re.compile(rf"^{re.escape(name)}$"))
        return term.locator("xpath=following-sibling::dd[1]")

    def set_status(self, label: str, reason: str = "") -> PlanItemPage:
        self.main.get_by_label("New status").select_option(label=label)
        self.main.get_by_label("Reason").fill(reason)
        self.main.get_by_role("button", name="Record the status").click()
        expect(self.flash).to_have_text("Status recorded.")
        return self.expect_shown()


class EmergencyAccessPage(BTAMPage):
    path = "/cases/emergency-access"

    def open(self) -> EmergencyAccessPage:
        self.page.goto(self.path)
        return self.expect_shown()

    def expect_shown(self) -> Self:
        super().expect_shown()
        expect(self.heading).to_have_text("Emergency access to a case")
        return self

    @property
    def number(self) -> Locator:
        return self.page.get_by_label("Case number")


class PersonSearchPage(PersonFieldsPage):
    path = "/people/search"

    def open(self) -> PersonSearchPage:
        self.page.goto(self.path)
        return self.expect_shown()

    def expect_shown(self) -> Self:
        super().expect_shown()
        expect(self.heading).to_have_text("Find a person's earlier records")
        return self

    def search(self, *, student_id: str) -> PersonSearchPage:
        self.student_id.fill(student_id)
        self.page.get_by_role("button", name="Search").click()
        expect(self.results).to_be_visible()
        return self

    @property
    def results(self) -> Locator:
        """The results, named by their count ("1 match", "3 matches")."""
        return self.page.get_by_role("region", name=re.compile(r"^\d+ match(es)?$"))

    def open_person(self, name: str) -> PersonPage:
        self.results.get_by_role("link", name=name, exact=True).click()
        return PersonPage(self.page).expect_shown()


class PersonPage(BTAMPage):
    """One person's record: the cases one may see, and the record of disclosures."""

    path = "/people/"

    def expect_shown(self) -> Self:
        expect(self.page).to_have_url(re.compile(r"/people/\d+(#[\w-]*)?$"))
        return self

    @property
    def agency_notice(self) -> Locator:
        return self.page.get_by_role("note").filter(
            has_text="You read these records as a school official"
        )

    @property
    def cases(self) -> Locator:
        return self.page.get_by_role("region", name="Cases", exact=True)

    @property
    def disclosures(self) -> Locator:
        return self.page.get_by_role("region", name="Record of disclosures")


class DisclosuresPage(BTAMPage):
    """The auditors' record of disclosures across the district."""

    path = "/people/disclosures"

    def open(self) -> DisclosuresPage:
        self.page.goto(self.path)
        return self.expect_shown()

    def expect_shown(self) -> Self:
        super().expect_shown()
        expect(self.heading).to_have_text("Record of disclosures")
        return self

    @property
    def entries(self) -> Locator:
        return self.page.get_by_role("table", name="Record of disclosures")


# Where a browser arrives between sign-in and work, by path.
LANDINGS: dict[str, type[BTAMPage]] = {
    LoginPage.path: LoginPage,
    SecondFactorPage.path: SecondFactorPage,
    EnrolPage.path: EnrolPage,
    DashboardPage.path: DashboardPage,
    PasswordChangePage.path: PasswordChangePage,
    AccountPage.path: AccountPage,
    AdminPage.path: AdminPage,
}


def landed_on(page: Page) -> BTAMPage:
    """The page object of the page the browser shows now."""
    cls = LANDINGS.get(path_of(page.url))
    assert cls is not None, f"arrived on a page no test expects: {page.url}"
    return cls(page).expect_shown()


def moved_on_from(page: Page, path: str) -> BTAMPage:
    """Wait until a form posted from ``path`` has led elsewhere; return that page's object.

    Waiting for another path, rather than for any load, keeps a slow answer from being
    mistaken for the page that was already there.
    """
    page.wait_for_url(lambda url: path_of(url) != path)
    return landed_on(page)


def sign_in(page: Page, username: str, password: str, keyring: Keyring) -> BTAMPage:
    """Sign in through every step the account needs; return the first page after sign-in.

    A first sign-in of a role with two-step sign-in enrols by typing the key shown, keeps the
    recovery codes and puts the app in ``keyring``; a later one answers with that app's code.
    """
    reached = LoginPage(page).open().submit(username, password)
    if isinstance(reached, EnrolPage):
        app = reached.add_to_authenticator()
        codes = reached.turn_on(app)
        codes.store_codes(app)
        keyring.apps[username] = app
        reached = codes.continue_()
    elif isinstance(reached, SecondFactorPage):
        reached = reached.submit(keyring[username].code())
    return reached
