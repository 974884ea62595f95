from playwright.sync_api import Page
from tests.browser.test_cases import lead_state, lead_page, counselor_state, counselor_page, open_demo_case, BATHROOM_WALL, SOCIAL_MEDIA, COUNSELOR, LAPTOP  # noqa
from tests.support.pages import PersonSearchPage, NewCasePage, CaseListPage

STYLE = """(el) => { const s = getComputedStyle(el); let b = el, bg; while (b && (bg = getComputedStyle(b).backgroundColor) === 'rgba(0, 0, 0, 0)') b = b.parentElement; return [el.textContent.trim(), s.color, bg]; }"""

def test_probe(lead_page: Page, counselor_page: Page) -> None:
    out = "/tmp/btam-probe"
    import os; os.makedirs(out, exist_ok=True)
    for pg in (lead_page, counselor_page):
        pg.set_viewport_size(LAPTOP)
    case = open_demo_case(lead_page, BATHROOM_WALL); number = case.number
    for b in lead_page.locator("main .link-button").all():
        print("lead", b.evaluate(STYLE))
    case.assign_work(to=COUNSELOR.choice, task="Check in with the student daily.", due="")
    sm = open_demo_case(lead_page, SOCIAL_MEDIA)
    for b in lead_page.locator("main .link-button").all():
        print("lead sm", b.evaluate(STYLE))
    lead_page.screenshot(path=f"{out}/social.png", full_page=True)
    cl = CaseListPage(counselor_page).open()
    counselor_page.screenshot(path=f"{out}/counselor-list.png")
    mine = cl.open_case(number)
    for b in counselor_page.locator("main .link-button").all():
        print("counselor", b.evaluate(STYLE))
    counselor_page.screenshot(path=f"{out}/counselor-case.png")
    NewCasePage(lead_page).open(); lead_page.screenshot(path=f"{out}/new.png", full_page=True)
    CaseListPage(lead_page).open(); lead_page.screenshot(path=f"{out}/list.png")
    PersonSearchPage(lead_page).open().search(student_id="2041187"); lead_page.screenshot(path=f"{out}/search.png", full_page=True)
