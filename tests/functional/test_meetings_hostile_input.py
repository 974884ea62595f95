"""Hostile input on every meeting form: control characters and NUL bytes, HTML and script,
strings over every limit, values outside every choice, ids that are not ids.

Whatever comes in, the answer is a redirect (302) or the form again (400), never a server
error, and markup typed into a field comes back as text, never as markup.
"""

from __future__ import annotations

import pytest
from flask import Flask

from btam.meetings.services.view import meeting_page
from tests.support.cases import Seeded, acting_as, seed_cases
from tests.support.meetings import schedule_meeting
from tests.support.personas import World
from tests.support.web import Browser, csrf_token, signed_in

HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "nul\x00byte",
    "esc\x1b[31mred",
    "x" * 25_000,
    "٣",
    "-1",
    "99999999999999999999",
    "2026-13-45",
    "25:99",
    "'; DROP TABLE meetings; --",
    "\u202eevil\u202c",
    "",
)
RAW_MARKUP = ("<script>alert(1)", "<img src=x onerror")

# Each form, the fields it posts, and a valid value of each (the hostile value replaces one).
FORMS = {
    "schedule": (
        "/meetings/",
        {
            "team_id": "@north_team",
            "starts_on": "2027-01-12",
            "starts_at": "09:30",
            "place": "Room 204",
            "kind": "regular",
        },
    ),
    "case": ("{meeting}/agenda/cases", {"number": "@north"}),
    "topic": ("{meeting}/agenda/topics", {"topic": "Bus duty"}),
    "move": ("{meeting}/items/{item}/move", {"direction": "down"}),
    "share": ("{meeting}/items/{item}/share", {"shared": "yes"}),
    "attendee": ("{meeting}/attendees", {"user_id": "@officer_hal"}),
    "guest": ("{meeting}/guests", {"guest_user_id": "", "name": "A visitor", "affiliation": ""}),
    "minutes": ("{meeting}/items/{item}/minutes", {"body": "Discussed."}),
    "determination": (
        "{meeting}/items/{item}/determination",
        {
            "kind": "determination",
            "classification": "transient",
            "level": "low",
            "rationale": "Said in anger, retracted.",
            "facts": "1",
        },
    ),
    "close": (
        "{meeting}/items/{item}/close",
        {"reason": "A song lyric.", "final_review": "Nothing open."},
    ),
    "plan_item": (
        "{meeting}/items/{item}/plan-item",
        {
            "intervention": "supervision",
            "aim": "subject",
            "target_party_id": "",
            "owner_id": "@member_gus",
            "due_on": "2099-01-15",
            "description": "Daily check-in.",
        },
    ),
    "referral": (
        "{meeting}/items/{item}/referral",
        {
            "person_id": "",
            "destination": "community_mental_health",
            "agency": "Harbor Clinic",
            "contact": "Intake desk",
            "reason": "Counseling.",
            "consent": "obtained",
            "consent_on": "2025-01-15",
            "consent_records": "The summary",
            "consent_purpose": "Counseling intake",
            "consent_recipient": "Harbor Clinic",
            "legal_basis": "",
            "basis_statement": "",
            "follow_up_on": "2099-01-15",
            "record_class": "education",
        },
    ),
    "review": ("{meeting}/items/{item}/review", {"changes": "Reviewed.", "next_on": ""}),
}


@pytest.fixture
def scene(app: Flask, world: World) -> tuple[Browser, dict[str, str]]:
    seeded: Seeded = seed_cases(app, world)
    meeting_id = schedule_meeting(app, world, attendees=("lead_ben", "member_gus"))
    with acting_as(app, world, "lead_ben") as ctx:
        item = meeting_page(ctx, meeting_id).items[0].id
        ctx.db.commit()
    values = {
        "meeting": f"/meetings/{meeting_id}",
        "item": str(item),
        "north": seeded.north,
        "north_team": str(world.team_ids["north"]),
        "officer_hal": str(world.people["officer_hal"].user_id),
        "member_gus": str(world.people["member_gus"].user_id),
    }
    return signed_in(app, world, "lead_ben"), values


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_meeting_form_survives_hostile_input(
    scene: tuple[Browser, dict[str, str]], form: str
) -> None:
    browser, values = scene
    url_template, fields = FORMS[form]
    url = url_template.format(**values)
    token = csrf_token(browser.get(values["meeting"]).get_data(as_text=True))
    valid = {k: values[v[1:]] if v.startswith("@") else v for k, v in fields.items()}
    problems = []
    for name in valid:
        for bad in HOSTILE:
            response = browser.client.post(url, data={"csrf_token": token, **valid, name: bad})
            text = response.get_data(as_text=True)
            if response.status_code not in {302, 400, 404}:
                problems.append(f"{name}={bad[:20]!r}: HTTP {response.status_code}")
            if any(raw in text for raw in RAW_MARKUP):
                problems.append(f"{name}={bad[:20]!r}: markup came back as markup")
    assert not problems, "\n".join(problems)
