"""Hostile input on every intake form: random Unicode with control characters and NUL bytes,
HTML and script, very long strings, values outside every choice.

Whatever comes in, the answer is a page (200), a redirect (302) or a refusal (400), never a
server error; a refusal keeps what was typed, stores nothing half-way, and HTML typed in a
field comes back as text, never as markup.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from urllib.parse import urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from werkzeug.test import TestResponse

from btam import MAX_REQUEST_BYTES
from btam.intake.rate_limits import RateLimit
from btam.intake.services import tips
from btam.intake.terms import Channel, ImmediateAction, NoThreatAction, TipCategory, TriageOutcome
from btam.people.terms import Part, PersonKind
from tests.support.cases import seed_cases
from tests.support.intake import (
    browser_of,
    report_row,
    row_counts,
    seed_report,
    seed_tip,
    student,
    visitor,
)
from tests.support.personas import World
from tests.support.web import csrf_token

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MARKUP = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</textarea><svg onload=alert(1)>",
    "'; DROP TABLE reports; --",
    "{{ 7 * 7 }}{% raw %}",
    "\u202eevil\u202c",
    "Ω≈ç√∫˜µ≤≥÷ 𝕿𝖊𝖘𝖙 👩‍👩‍👧",
)
RAW_MARKUP = ("<script>alert(1)", "<img src=x onerror", "<svg onload")

hostile = st.one_of(
    st.text(max_size=40),  # any code point but surrogates: control characters, NUL, emoji
    st.sampled_from(MARKUP),
    st.builds(  # over every length limit (20,000 is the longest)
        lambda piece, times: piece * times,
        st.sampled_from(["A", "é", "\x00"]),
        st.integers(min_value=90, max_value=21_000),
    ),
    st.builds(
        lambda piece, times: piece * times,
        st.sampled_from(["<b>", "👩‍👩‍👧"]),
        st.integers(min_value=30, max_value=1_500),
    ),
    st.just(""),
)
# Text a form may accept, markup included, so that some submits get through.
printable = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=60)


def mostly(valid: st.SearchStrategy[str], odds: int = 9) -> st.SearchStrategy[str]:
    """``valid`` most of the time (``odds`` to one), else anything hostile."""
    # The hostile branch last: generation and shrinking lean towards the first ones.
    return st.sampled_from(range(odds + 1)).flatmap(lambda n: hostile if n == odds else valid)


def choice(values: list[str]) -> st.SearchStrategy[str]:
    """A valid choice most of the time, or anything at all."""
    return mostly(st.sampled_from(values))


text = mostly(st.one_of(printable, st.sampled_from(MARKUP)), odds=6)


def refused_as_too_large(
    app: Flask, form: dict[str, str], response: TestResponse, before: dict[str, int]
) -> bool:
    """A form over the 1 MiB a form may send is refused whole (413), storing nothing."""
    event(f"answered {response.status_code}")
    if len(urlencode(form)) <= MAX_REQUEST_BYTES:
        return False
    assert response.status_code == 413
    assert row_counts(app) == before
    return True


def safe(value: str) -> bool:
    """A value a refusal must show again: no control characters, not only blanks."""
    return bool(value.strip()) and not any(unicodedata.category(c) == "Cc" for c in value)


def check_page(html: str, typed: dict[str, str], kept: tuple[str, ...]) -> None:
    for marker in RAW_MARKUP:
        assert marker not in html
    for name in kept:
        value = typed.get(name, "")
        if safe(value):
            assert str(escape(value)) in html, name


@pytest.fixture
def loose_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rate limits out of the way: these tests send far more than a tipster would."""
    loose = (
        RateLimit("tip-client", 10**6, tips.TIP_WINDOW),
        RateLimit("tip-all", 10**6, tips.TIP_WINDOW),
    )
    monkeypatch.setattr(tips, "_tip_limits", lambda _ctx: loose)
    monkeypatch.setattr(tips, "FOLLOW_UP_FAILURES", 10**6)


# --------------------------------------------------------------------------- /reports/new


@FUZZ
@given(
    data=st.fixed_dictionaries(
        {
            "channel": choice([c.value for c in Channel]),  # anonymous_tip is refused
            "occurred": text,
            "location": text,
            "narrative": text,
            "people-0-part": choice(["subject", "target", "witness"]),
            "people-0-kind": choice([k.value for k in PersonKind]),
            "people-0-given_name": text,
            "people-0-family_name": text,
            "people-0-date_of_birth": mostly(
                st.one_of(st.just(""), st.dates(date(1990, 1, 1), date(2020, 1, 1)).map(str))
            ),
            "people-0-student_number": text,
            "actions_by": text,
        }
    ),
    school=mostly(st.sampled_from(["1", "2"])),
    flags=st.sets(st.sampled_from(["imminent", "confidential", "called_911", "lockdown"])),
)
def test_the_staff_report_form_survives_hostile_input(
    app: Flask, world: World, data: dict[str, str], school: str, flags: set[str]
) -> None:
    browser = browser_of(app, world, "teacher_cam")
    token = csrf_token(browser.get("/reports/new").get_data(as_text=True))
    before = row_counts(app)
    form = {**data, "school_id": school, "csrf_token": token, **dict.fromkeys(flags, "y")}
    response = browser.client.post("/reports/new", data=form)
    if refused_as_too_large(app, form, response, before):
        return
    assert response.status_code in (200, 400)
    html = response.get_data(as_text=True)
    after = row_counts(app)
    if response.status_code == 400:
        assert after == before
        check_page(html, data, ("occurred", "location", "narrative", "actions_by"))
        check_page(html, data, ("people-0-given_name", "people-0-family_name"))
    else:
        assert "Report sent" in html
        assert after["reports"] == before["reports"] + 1
        assert after["report_people"] - before["report_people"] in (0, 1)
        check_page(html, {}, ())


def test_a_people_field_with_an_odd_index_is_not_a_server_error(app: Flask, world: World) -> None:
    """Regression: WTForms took '²' for an index ('²'.isdigit()) and int() of it failed (500)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    browser = browser_of(app, world, "teacher_cam")
    for index in ("²", "١", "٣", "99999999999", "-1", "0x1", "1e3", " 1"):
        before = row_counts(app)
        response = browser.submit(
            "/reports/new",
            {
                "school_id": str(world.school_ids["NHS"]),
                "channel": "staff",
                "narrative": "He said he would do it.",
                f"people-{index}-given_name": "Jordan",
                f"people-{index}-family_name": "Rivera",
            },
        )
        assert response.status_code in (200, 400), index
        assert row_counts(app)["reports"] - before["reports"] in (0, 1)


# --------------------------------------------------------------------------- /tip


@FUZZ
@given(
    data=st.fixed_dictionaries(
        {
            "category": choice([c.value for c in TipCategory]),
            "what": text,
            "who": text,
            "where": text,
            "when": text,
        }
    ),
    school=mostly(st.sampled_from(["1", "2"])),
)
def test_the_tip_form_survives_hostile_input(
    app: Flask, world: World, loose_limits: None, data: dict[str, str], school: str
) -> None:
    tipster = visitor(app, "198.51.100.23")
    before = row_counts(app)
    form = {**data, "school_id": school}
    response = tipster.client.post("/tip", data=form)
    if refused_as_too_large(app, form, response, before):
        return
    assert response.status_code in (200, 400)
    assert response.headers.getlist("Set-Cookie") == []
    html = response.get_data(as_text=True)
    after = row_counts(app)
    if response.status_code == 400:
        assert after == before
        check_page(html, data, ("what", "who", "where", "when"))
    else:
        assert "Your tip was received" in html
        assert after["reports"] == before["reports"] + 1
        assert after["tip_access"] == before["tip_access"] + 1
        check_page(html, {}, ())


@FUZZ
@given(
    filename=text,
    content_type=mostly(
        st.sampled_from(
            ["application/pdf", "image/png", "image/jpeg", "text/plain", "image/svg+xml"]
        )
    ),
    data=st.one_of(
        st.binary(max_size=200),
        st.sampled_from([b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"hello"]).flatmap(
            lambda head: st.binary(max_size=100).map(lambda tail: head + tail)
        ),
    ),
)
def test_a_tip_file_survives_hostile_names_types_and_content(
    app: Flask, world: World, loose_limits: None, filename: str, content_type: str, data: bytes
) -> None:
    from tests.support.intake import tip_form, upload

    before = row_counts(app)
    form = tip_form(world, file=upload(data, filename, content_type))
    response = visitor(app, "198.51.100.26").client.post("/tip", data=form)
    event(f"answered {response.status_code}")
    assert response.status_code in (200, 400)
    after = row_counts(app)
    if response.status_code == 400:
        assert after == before
        check_page(response.get_data(as_text=True), {"what": str(form["what"])}, ("what",))
    else:
        stored = after["report_attachments"] - before["report_attachments"]
        # A file without a name (as the multipart parser reads it) or content is no file.
        assert after["reports"] == before["reports"] + 1 and stored in (0, 1)
        assert stored == 0 or data


# --------------------------------------------------------------------------- /tip/follow-up


@FUZZ
@given(
    code=st.one_of(text, st.just("REAL"), st.just("REAL-MANGLED")),
    message=text,
)
def test_the_follow_up_form_survives_hostile_input(
    app: Flask, world: World, loose_limits: None, code: str, message: str
) -> None:
    if not hasattr(app, "_fuzz_code"):
        app._fuzz_code = seed_tip(app, world)[1]  # type: ignore[attr-defined]
    real: str = app._fuzz_code  # type: ignore[attr-defined]
    typed = {"REAL": real, "REAL-MANGLED": real[:-1] + ("A" if real[-1] != "A" else "B")}.get(
        code, code
    )
    tipster = visitor(app, "198.51.100.24")
    before = row_counts(app)
    form = {"code": typed, "message": message}
    response = tipster.client.post("/tip/follow-up", data=form)
    if refused_as_too_large(app, form, response, before):
        return
    assert response.status_code in (200, 400)
    assert response.headers.getlist("Set-Cookie") == []
    html = response.get_data(as_text=True)
    after = row_counts(app)
    if response.status_code == 200:
        assert typed == real and "Status: Waiting for triage" in html
        grew = after["tip_messages"] - before["tip_messages"]
        assert grew == (1 if message.strip() else 0)
        assert {k: v for k, v in after.items() if k != "tip_messages"} == {
            k: v for k, v in before.items() if k != "tip_messages"
        }
    else:
        assert after == before and "Status:" not in html
    check_page(html, {"code": typed}, ("code",))


# --------------------------------------------------------------------------- /triage/<id>/...


@FUZZ
@given(
    data=st.fixed_dictionaries(
        {
            "outcome": choice([o.value for o in TriageOutcome]),
            "summary": text,
            "case_number": mostly(st.sampled_from(["", "NORTH", "NORTH", "SOUTH"]), odds=3),
            "no_threat_action": choice([a.value for a in NoThreatAction] + [""]),
            "reason": text,
            "subject_given_name": text,
            "subject_family_name": text,
            "screen_imminent": choice(["", "yes", "no"]),
            "screen_has_plan": choice(["", "yes", "no"]),
        }
    ),
    team=mostly(
        st.one_of(
            st.just("1"),
            st.integers(min_value=-3, max_value=3).map(str),
            st.integers(min_value=-(2**31), max_value=2**31 - 1).map(str),
        ),
        odds=5,
    ),
    subject=st.booleans(),
)
def test_the_triage_decision_survives_hostile_input(
    app: Flask, world: World, data: dict[str, str], team: str, subject: bool
) -> None:
    if not hasattr(app, "_fuzz_cases"):
        app._fuzz_cases = seed_cases(app, world)  # type: ignore[attr-defined]
    seeded = app._fuzz_cases  # type: ignore[attr-defined]
    data = {
        **data,
        "case_number": {"NORTH": seeded.north, "SOUTH": seeded.south}.get(
            data["case_number"], data["case_number"]
        ),
    }
    people = ((Part.SUBJECT, student("Jordan", "Rivera", "S-1001")),) if subject else ()
    report_id = seed_report(app, world, by="member_gus", people=people)
    browser = browser_of(app, world, "lead_ben")
    url = f"/triage/{report_id}"
    token = csrf_token(browser.get(url).get_data(as_text=True))
    before = row_counts(app)
    form = {**data, "team_id": team, "csrf_token": token}
    response = browser.client.post(f"{url}/decide", data=form)
    if refused_as_too_large(app, form, response, before):
        return
    forced_other_team = team.strip() == str(world.team_ids["south"])
    allowed = {302, 400} | ({403} if forced_other_team else set())
    assert response.status_code in allowed, response.status_code
    row = report_row(app, report_id)
    if response.status_code == 302:
        assert row.status.value == "triaged" and row.outcome is not None
        opened = row.outcome is TriageOutcome.OPENED_CASE
        assert row_counts(app)["cases"] == before["cases"] + (1 if opened else 0)
        if row.outcome in (TriageOutcome.OPENED_CASE, TriageOutcome.ADDED_TO_CASE):
            assert row.case_id is not None
    else:
        assert row_counts(app) == before
        assert row.status.value == "received" and row.case_id is None
        assert row.screen_imminent is None and row.outcome_reason is None
        if response.status_code == 400:
            check_page(response.get_data(as_text=True), data, ("reason", "case_number"))
    page = browser.get(url)
    assert page.status_code == 200
    check_page(page.get_data(as_text=True), {}, ())


@FUZZ
@given(
    action=choice([a.value for a in ImmediateAction]),
    taken_by=text,
    taken_at=mostly(
        st.one_of(
            st.datetimes(max_value=datetime(2100, 1, 1)).map(
                lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}"
            ),
            st.just(datetime.now(UTC).strftime("%Y-%m-%d %H:%M")),
        ),
        odds=3,
    ),
)
def test_recording_an_immediate_action_survives_hostile_input(
    app: Flask, world: World, action: str, taken_by: str, taken_at: str
) -> None:
    if not hasattr(app, "_fuzz_report"):
        app._fuzz_report = seed_report(app, world, imminent=True)  # type: ignore[attr-defined]
    report_id: int = app._fuzz_report  # type: ignore[attr-defined]
    browser = browser_of(app, world, "officer_hal")
    url = f"/triage/{report_id}"
    token = csrf_token(browser.get(url).get_data(as_text=True))
    before = row_counts(app)
    typed = {"action": action, "taken_by": taken_by, "taken_at": taken_at}
    form = {**typed, "csrf_token": token}
    response = browser.client.post(f"{url}/actions", data=form)
    if refused_as_too_large(app, form, response, before):
        return
    assert response.status_code in (302, 400)
    after = row_counts(app)
    if response.status_code == 302:
        assert after["report_actions"] == before["report_actions"] + 1
        assert datetime.strptime(taken_at, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) <= datetime.now(
            UTC
        )
    else:
        assert after == before
        check_page(response.get_data(as_text=True), typed, ("taken_by", "taken_at"))
    page = browser.get(url)
    assert page.status_code == 200
    check_page(page.get_data(as_text=True), {}, ())


@FUZZ
@given(body=text)
def test_answering_a_tipster_survives_hostile_input(app: Flask, world: World, body: str) -> None:
    if not hasattr(app, "_fuzz_tip"):
        app._fuzz_tip = seed_tip(app, world)  # type: ignore[attr-defined]
    tip_id, code = app._fuzz_tip  # type: ignore[attr-defined]
    browser = browser_of(app, world, "member_gus")
    url = f"/triage/{tip_id}"
    token = csrf_token(browser.get(url).get_data(as_text=True))
    before = row_counts(app)
    form = {"body": body, "csrf_token": token}
    response = browser.client.post(f"{url}/messages", data=form)
    if refused_as_too_large(app, form, response, before):
        return
    assert response.status_code in (302, 400)
    after = row_counts(app)
    if response.status_code == 302:
        assert after["tip_messages"] == before["tip_messages"] + 1
    else:
        assert after == before
        check_page(response.get_data(as_text=True), {"body": body}, ("body",))
    # Both sides read the conversation as text.
    check_page(browser.get(url).get_data(as_text=True), {}, ())
    thread = visitor(app, "198.51.100.25").client.post("/tip/follow-up", data={"code": code})
    assert thread.status_code == 200
    check_page(thread.get_data(as_text=True), {}, ())
    if response.status_code == 302 and safe(body):
        assert str(escape(body.strip())) in thread.get_data(as_text=True)


def test_markup_typed_anywhere_in_intake_is_shown_as_text(app: Flask, world: World) -> None:
    script = '<script>alert("x")</script>'
    report_id = seed_report(
        app,
        world,
        narrative=f"He wrote {script} on the board.",
        people=((Part.SUBJECT, student("<b>Jo</b>", script)),),
    )
    html = browser_of(app, world, "lead_ben").get(f"/triage/{report_id}").get_data(as_text=True)
    assert script not in html and "<b>Jo</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Jo&lt;/b&gt;" in html
    queue = browser_of(app, world, "lead_ben").get("/triage/").get_data(as_text=True)
    assert script not in queue and "&lt;b&gt;Jo&lt;/b&gt;" in queue
