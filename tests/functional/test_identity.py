"""A typed student id never reveals or confirms anyone outside what the actor may see.

An attacker's view of every path that takes a person as typed: adding a party to a case,
opening a case, a staff report, and triage. Each is tried with the student id of a student
known only to another school (Sam Lee, ``S-2001``, of the South case) and with an id known
nowhere (``S-2999``): the answers must be the same (status, message, page) and nothing of
Sam Lee may show. Then the merge that joins the duplicates this leaves, by the one who may
see both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from btam.cases.models import CaseParty
from btam.cases.services import records
from btam.context import carry_out
from btam.intake.models import ReportMention, ReportPerson
from btam.people.models import Disclosure, Person
from btam.people.services import disclosures
from btam.people.terms import DisclosureBasis, Part
from tests.support.cases import Seeded, acting_as, seed_cases, student
from tests.support.intake import browser_of, page, person_fields, report_form, row_counts
from tests.support.personas import World, with_district_member
from tests.support.stores import audit_entries

KNOWN_ELSEWHERE = "S-2001"  # Sam Lee, born 2012-01-20, a party to the South case only
UNKNOWN = "S-2999"
SAM = ("Sam Lee", "2012-01-20", "South Middle School")
TOKEN = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*(")')
NUMBERS = re.compile(r"(/(?:triage|people|cases)/)[0-9-]+|#[0-9]+|\b(?:m[0-9]+-)")


def comparable(response: TestResponse, typed: str) -> tuple[int, str, str]:
    """What a person sees of an answer, with the id it typed, its form token and the record
    numbers it created taken out: two answers that differ only there are the same answer."""
    html = TOKEN.sub(r"\1\2", response.get_data(as_text=True)).replace(typed, "S-TYPED")
    location = NUMBERS.sub(r"\1N", response.headers.get("Location", ""))
    return response.status_code, location, NUMBERS.sub(r"\1N", html)


def shows_nothing_of_sam(html: str) -> None:
    for value in SAM:
        assert value not in html, value


@dataclass(frozen=True)
class Stored:
    id: int
    student_number: str | None
    school_id: int | None
    date_of_birth: date | None


def people_named(app: Flask, family: str) -> list[Stored]:
    """The people of that family name in the store, read with the store's keys."""
    with app.extensions["btam"].stores.case_sessions() as db:
        return [
            Stored(p.id, p.student_number, p.school_id, p.date_of_birth)
            for p in db.execute(select(Person).order_by(Person.id)).scalars()
            if p.family_name == family
        ]


def sam(app: Flask) -> Stored:
    """Sam Lee's record (the South case's subject)."""
    return next(p for p in people_named(app, "Lee") if p.student_number == KNOWN_ELSEWHERE)


# --------------------------------------------------------------------------- adding a party


def test_adding_a_party_answers_the_same_for_an_id_known_elsewhere_and_an_unknown_one(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    gus = browser_of(app, world, "member_gus")
    url = f"/cases/{seeded.north}"

    def add(number: str, **names: str) -> TestResponse:
        fields = {"part": "witness", "kind": "student", "student_number": number, **names}
        return gus.submit(url, fields, action=f"{url}/parties")

    # An id alone: refused alike, with the same message, whoever has that id.
    before = row_counts(app)
    known, unknown = add(KNOWN_ELSEWHERE), add(UNKNOWN)
    assert comparable(known, KNOWN_ELSEWHERE) == comparable(unknown, UNKNOWN)
    assert known.status_code == 400
    assert "No one you may see has that student id" in known.get_data(as_text=True)
    shows_nothing_of_sam(known.get_data(as_text=True))
    assert row_counts(app) == before

    # With a name: accepted alike, as a new person each time; Sam Lee is never linked.
    known = add(KNOWN_ELSEWHERE, given_name="Sam", family_name="Lea")
    unknown = add(UNKNOWN, given_name="Sam", family_name="Lea")
    assert comparable(known, KNOWN_ELSEWHERE) == comparable(unknown, UNKNOWN)
    assert known.status_code == 302 and known.headers["Location"] == f"{url}#people"
    html = page(app, world, "member_gus", url)[1]
    # Two rows of the people table, each a record of its own.
    assert len(re.findall(r'<a href="/people/\d+">Sam Lea</a>', html)) == 2
    shows_nothing_of_sam(html)
    sam_lee = sam(app)
    assert f"/people/{sam_lee.id}" not in html
    created = people_named(app, "Lea")
    assert sorted(p.student_number or "" for p in created) == [KNOWN_ELSEWHERE, UNKNOWN]
    # Nothing of Sam Lee's record came along: not his school, not his date of birth.
    assert all(p.school_id is None and p.date_of_birth is None for p in created)


def test_a_member_still_finds_the_people_it_may_see(app: Flask, world: World) -> None:
    seeded = seed_cases(app, world)
    url = f"/cases/{seeded.north_quiet}"
    # Jordan Rivera is the North case's subject: an id alone finds him for his own team.
    added = browser_of(app, world, "member_gus").submit(
        url,
        {"part": "witness", "kind": "student", "student_number": "s-1001"},
        action=f"{url}/parties",
    )
    assert added.status_code == 302
    html = page(app, world, "member_gus", url)[1]
    assert f"/people/{seeded.subject_id}" in html and "Jordan Rivera" in html
    # The South team typing the same id records a person of its own.
    dee = browser_of(app, world, "outsider_dee")
    south = f"/cases/{seeded.south}"
    refused = dee.submit(
        south,
        {"part": "witness", "kind": "student", "student_number": "S-1001"},
        action=f"{south}/parties",
    )
    assert refused.status_code == 400 and "Jordan" not in refused.get_data(as_text=True)


# --------------------------------------------------------------------------- opening a case


def test_opening_a_case_answers_the_same_for_an_id_known_elsewhere_and_an_unknown_one(
    app: Flask, world: World
) -> None:
    seed_cases(app, world)
    ben = browser_of(app, world, "lead_ben")
    team_school = f"{world.team_ids['north']}:{world.school_ids['NHS']}"

    def open_case(number: str, **names: str) -> TestResponse:
        fields = {
            "team_school": team_school,
            "summary": "Said he would fight someone after school.",
            "kind": "student",
            "student_number": number,
            **names,
        }
        return ben.submit("/cases/new", fields)

    before = row_counts(app)
    known, unknown = open_case(KNOWN_ELSEWHERE), open_case(UNKNOWN)
    assert comparable(known, KNOWN_ELSEWHERE) == comparable(unknown, UNKNOWN)
    assert "No one you may see has that student id" in known.get_data(as_text=True)
    shows_nothing_of_sam(known.get_data(as_text=True))
    assert row_counts(app) == before

    known = open_case(KNOWN_ELSEWHERE, given_name="Sam", family_name="Lea")
    unknown = open_case(UNKNOWN, given_name="Sam", family_name="Lea")
    assert comparable(known, KNOWN_ELSEWHERE) == comparable(unknown, UNKNOWN)
    assert known.status_code == 302
    for response in (known, unknown):
        html = page(app, world, "lead_ben", response.headers["Location"])[1]
        assert "Sam Lea" in html
        shows_nothing_of_sam(html)
        assert f"/people/{sam(app).id}" not in html
    assert len(people_named(app, "Lea")) == 2


# --------------------------------------------------------------------------- a staff report


def test_a_staff_report_answers_the_same_for_an_id_known_elsewhere_and_an_unknown_one(
    app: Flask, world: World
) -> None:
    seed_cases(app, world)

    def report(number: str, **names: str) -> TestResponse:
        data = report_form(world, **person_fields(0, student_number=number, **names))
        return browser_of(app, world, "teacher_cam").submit("/reports/new", data)

    # A known id was accepted and an unknown one refused: now both are refused alike.
    before = row_counts(app)
    known, unknown = report(KNOWN_ELSEWHERE), report(UNKNOWN)
    assert comparable(known, KNOWN_ELSEWHERE) == comparable(unknown, UNKNOWN)
    assert known.status_code == 400
    assert row_counts(app) == before
    # The same goes for an id the reporter's own school knows (Jordan Rivera's).
    assert comparable(report("S-1001"), "S-1001") == comparable(unknown, UNKNOWN)

    known = report(KNOWN_ELSEWHERE, given_name="Sam", family_name="Lea")
    unknown = report(UNKNOWN, given_name="Sam", family_name="Lea")
    assert comparable(known, KNOWN_ELSEWHERE) == comparable(unknown, UNKNOWN)
    assert known.status_code == 200 and "Report sent" in known.get_data(as_text=True)
    shows_nothing_of_sam(known.get_data(as_text=True))
    after = row_counts(app)
    # Kept as typed: nobody looked up, nobody created.
    assert after["people"] == before["people"] and after["report_people"] == 0
    assert after["report_mentions"] == 2


# --------------------------------------------------------------------------- triage


def test_triage_answers_the_same_for_an_id_known_elsewhere_and_an_unknown_one(
    app: Flask, world: World
) -> None:
    seed_cases(app, world)
    sam_lee = sam(app)
    cam = browser_of(app, world, "teacher_cam")
    ids = {}
    for number in (KNOWN_ELSEWHERE, UNKNOWN):
        data = report_form(
            world,
            **person_fields(0, given_name="Sam", family_name="Lea", student_number=number),
        )
        assert cam.submit("/reports/new", data).status_code == 200
        with app.extensions["btam"].stores.case_sessions() as db:
            mention = db.execute(
                select(ReportMention).order_by(ReportMention.id.desc()).limit(1)
            ).scalar_one()
            ids[number] = (mention.report_id, mention.id)
    ben = browser_of(app, world, "lead_ben")

    def section(number: str) -> str:
        html = page(app, world, "lead_ben", f"/triage/{ids[number][0]}")[1]
        found = re.search(r'<section aria-labelledby="people-h".*?</section>', html, re.S)
        assert found
        return NUMBERS.sub(r"\1N", TOKEN.sub(r"\1\2", found.group(0)).replace(number, "S-TYPED"))

    # The page offers no candidate: no one the North team may see has either id.
    assert section(KNOWN_ELSEWHERE) == section(UNKNOWN)
    assert "A new person (no one you may see matches)" in section(UNKNOWN)
    for number in (KNOWN_ELSEWHERE, UNKNOWN):
        report_id, _mention = ids[number]
        html = page(app, world, "lead_ben", f"/triage/{report_id}")[1]
        shows_nothing_of_sam(html)
        assert f"/people/{sam_lee.id}" not in html

    def link(number: str, person: str) -> TestResponse:
        report_id, mention_id = ids[number]
        return ben.submit(
            f"/triage/{report_id}",
            {"person": person},
            action=f"/triage/{report_id}/people/{mention_id}",
        )

    # Slipping Sam Lee's own person id into the form: the same 404 as an id of no one.
    before = row_counts(app)
    slipped, nobody = link(KNOWN_ELSEWHERE, str(sam_lee.id)), link(UNKNOWN, "999999")
    assert slipped.status_code == nobody.status_code == 404
    assert slipped.get_data() == nobody.get_data()
    assert row_counts(app) == before
    # Linking to a new person, and opening a case on each: the same answers.
    linked = [link(n, "new") for n in (KNOWN_ELSEWHERE, UNKNOWN)]
    assert comparable(linked[0], KNOWN_ELSEWHERE) == comparable(linked[1], UNKNOWN)
    assert linked[0].status_code == 302
    opened = [
        ben.submit(
            f"/triage/{ids[n][0]}",
            {"outcome": "opened_case", "team_id": str(world.team_ids["north"]), "summary": "S."},
            action=f"/triage/{ids[n][0]}/decide",
        )
        for n in (KNOWN_ELSEWHERE, UNKNOWN)
    ]
    assert comparable(opened[0], KNOWN_ELSEWHERE) == comparable(opened[1], UNKNOWN)
    for response in opened:
        assert response.status_code == 302
        html = page(app, world, "lead_ben", response.headers["Location"])[1]
        assert "Sam Lea" in html
        shows_nothing_of_sam(html)
    assert {e.purpose for e in audit_entries(app, "triage:person:linked")} == {"new person"}
    with app.extensions["btam"].stores.case_sessions() as db:
        linked_to = set(db.execute(select(ReportPerson.person_id)).scalars())
    assert sam_lee.id not in linked_to and len(linked_to) == 2


def test_triage_offers_the_people_the_triager_may_see_and_links_one(
    app: Flask, world: World
) -> None:
    seeded = seed_cases(app, world)
    data = report_form(
        world,
        **person_fields(0, given_name="Jordan", family_name="Rivera", student_number="S-1001"),
    )
    assert browser_of(app, world, "teacher_cam").submit("/reports/new", data).status_code == 200
    with app.extensions["btam"].stores.case_sessions() as db:
        mention = db.execute(select(ReportMention)).scalar_one()
        report_id, mention_id = mention.report_id, mention.id
    url = f"/triage/{report_id}"
    html = page(app, world, "lead_ben", url)[1]
    assert f'value="{seeded.subject_id}"' in html and "born 2010-03-14" in html
    linked = browser_of(app, world, "member_gus").submit(
        url, {"person": str(seeded.subject_id)}, action=f"{url}/people/{mention_id}", follow=True
    )
    assert "Person linked to the report." in linked.get_data(as_text=True)
    assert f'Linked to <a href="/people/{seeded.subject_id}">Jordan Rivera</a>' in (
        linked.get_data(as_text=True)
    )
    again = browser_of(app, world, "member_gus").submit(
        url, {"person": "new"}, action=f"{url}/people/{mention_id}"
    )
    assert again.status_code == 400 and "linked already" in again.get_data(as_text=True)
    [entry] = audit_entries(app, "triage:person:linked")
    assert entry.purpose == "known person" and entry.object_id == str(report_id)
    # Another team gets a 404 for the same link, as for a report that does not exist.
    dee = browser_of(app, world, "outsider_dee")
    token_page = "/cases/"
    refused = dee.submit(token_page, {"person": "new"}, action=f"{url}/people/{mention_id}")
    assert refused.status_code == 404


# --------------------------------------------------------------------------- merging


def _duplicate_in_south(app: Flask, world: World, seeded: Seeded) -> int:
    """The South team meets Jordan Rivera and, seeing no one, records him again."""

    with acting_as(app, world, "outsider_dee") as ctx:
        carry_out(
            ctx,
            records.add_party(
                ctx,
                seeded.south,
                part=Part.WITNESS,
                person=student("Jordan", "Rivera", born=date(2010, 3, 14), number="S-1001"),
            ),
        )
    jordans = [p.id for p in people_named(app, "Rivera") if p.id != seeded.subject_id]
    assert len(jordans) == 1
    return jordans[0]


def test_a_district_wide_member_merges_the_duplicates_it_sees(app: Flask, world: World) -> None:
    seeded = seed_cases(app, world)
    duplicate = _duplicate_in_south(app, world, seeded)

    with acting_as(app, world, "outsider_dee") as ctx:
        carry_out(
            ctx,
            disclosures.record_disclosure(
                ctx,
                duplicate,
                basis=DisclosureBasis.PARENT_CONSENT,
                recipient="Rivera family, by letter",
                interest="Parents consented in writing.",
                disclosed_at=ctx.now,
                case_number=seeded.south,
            ),
        )
    # Each school's lead sees one record, and no duplicate to merge.
    for who, own in (("lead_ben", seeded.subject_id), ("outsider_dee", duplicate)):
        html = page(app, world, who, f"/people/{own}")[1]
        assert "Other records of this person" not in html, who
    world = with_district_member(app, world)
    ivy = browser_of(app, world, "roamer_ivy")
    kept_url = f"/people/{seeded.subject_id}"
    html = page(app, world, "roamer_ivy", kept_url)[1]
    assert "Other records of this person" in html and f'value="{duplicate}"' in html
    merged = ivy.submit(kept_url, {"other_id": str(duplicate)}, action=f"{kept_url}/merge")
    assert merged.status_code == 302 and merged.headers["Location"] == kept_url
    with app.extensions["btam"].stores.case_sessions() as db:
        tomb = db.get(Person, duplicate)
        kept = db.get(Person, seeded.subject_id)
        assert tomb is not None and kept is not None
        assert tomb.merged_into_id == kept.id and tomb.merged_by == world.roamer_ivy.user_id
        assert (tomb.given_name, tomb.student_number, tomb.student_id_index) == (None, None, None)
        # His part in the South case moved to the kept record, which keeps its own.
        parties = set(db.execute(select(CaseParty.person_id, CaseParty.case_id)).all())
        assert not {p for p, _c in parties} & {duplicate}
        south = db.execute(select(CaseParty.case_id).where(CaseParty.part == Part.WITNESS))
        assert {(kept.id, c) for c in south.scalars()} <= parties
        # The disclosure moved, and was encrypted again under the kept person's key.
        moved = (
            db.execute(select(Disclosure).where(Disclosure.recipient_enc.is_not(None)))
            .scalars()
            .all()
        )
        assert {d.person_id for d in moved} == {kept.id}
        assert "Rivera family, by letter" in {d.recipient for d in moved}
    # Each team now reaches the one record, with its own cases; the old id leads there.
    html = page(app, world, "outsider_dee", kept_url)[1]
    assert "Jordan Rivera" in html and seeded.south in html and seeded.north not in html
    assert "Rivera family, by letter" in html
    old = page(app, world, "outsider_dee", f"/people/{duplicate}")
    assert old[0] == 200 and f"Record {duplicate} was merged into this one." in old[1]
    assert page(app, world, "lead_ben", kept_url)[1].count("Rivera family, by letter") == 1
    [entry] = audit_entries(app, "person:record:merged")
    assert entry.object_id == str(duplicate) and entry.actor_id == world.roamer_ivy.user_id
    assert entry.purpose == f"merged into person {seeded.subject_id}"


def test_merging_needs_both_records_visible_and_the_same_person(app: Flask, world: World) -> None:
    seeded = seed_cases(app, world)
    duplicate = _duplicate_in_south(app, world, seeded)
    kept_url = f"/people/{seeded.subject_id}"
    # A lead who may not see the other record: the same 404 as for no record at all.
    ben = browser_of(app, world, "lead_ben")
    before = row_counts(app)
    for other in (str(duplicate), "999999"):
        refused = ben.submit(kept_url, {"other_id": other}, action=f"{kept_url}/merge")
        assert refused.status_code == 404, other
    # A member scoped to one school may not merge at all.
    gus = browser_of(app, world, "member_gus")
    refused = gus.submit(kept_url, {"other_id": str(duplicate)}, action=f"{kept_url}/merge")
    assert refused.status_code == 403
    world = with_district_member(app, world)
    ivy = browser_of(app, world, "roamer_ivy")
    # Another student (Casey Morgan, the quiet case's subject) is not the same person.
    with app.extensions["btam"].stores.case_sessions() as db:
        casey = next(p.id for p in db.execute(select(Person)).scalars() if p.given_name == "Casey")
    for other, message in (
        (str(casey), "do not name the same person"),
        (str(seeded.subject_id), "Choose another record"),
    ):
        refused = ivy.submit(kept_url, {"other_id": other}, action=f"{kept_url}/merge")
        assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    assert row_counts(app) == before
    assert audit_entries(app, "person:record:merged") == []
    assert ivy.submit(kept_url, {"other_id": str(duplicate)}, action=f"{kept_url}/merge")
    # A record merged already cannot be merged again.
    again = ivy.submit(kept_url, {"other_id": str(duplicate)}, action=f"{kept_url}/merge")
    assert again.status_code == 404
