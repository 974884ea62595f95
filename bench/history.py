"""A person's history found by blind index, beside the same lookup on a plain indexed column.

    BTAM_INSTANCE=... .venv/bin/python bench/history.py [--lookups 200] [--plain-url URL]

Runs against an instance filled by ``bench/seed.py``. The full lookup is what the people
search and triage do for a team lead: the blind index of a student id (HMAC under the
blind-index key), the candidates sharing it among the people the lead may see (the scope
filter), each confirmed by decrypting it (the index is truncated on purpose, so that many
people share each value), then the person's cases the lead may see. It leaves out the audit
append of the search page, which ``bench/pages.py`` measures with the pages.

The baseline is the same lookup on a plain, indexed ``student_number`` column of a table
holding as many people, in a store of the same kind: one indexed equality, then the person's
cases. Both find the same people for the same student ids. The plain store is a temporary
SQLite file, or the empty database ``--plain-url`` names (an empty PostgreSQL database beside
a PostgreSQL case store).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from btam import create_app
from btam.accounts.models import User
from btam.accounts.signin import actor_for
from btam.audit.context import AuditContext
from btam.cases.models import CaseParty
from btam.cases.services.guard import access_for
from btam.db import make_engine
from btam.people import repository
from btam.people.models import Person
from btam.people.services.matching import PersonData, indexes_of, same_person
from btam.people.terms import PersonKind


def figures(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "median_ms": statistics.median(ordered) * 1e3,
        "p95_ms": ordered[round(0.95 * (len(ordered) - 1))] * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--plain-url", default=None, help="an empty database for the baseline's tables"
    )
    args = parser.parse_args()
    rng = random.Random(15)

    app = create_app()
    rt = app.extensions["btam"]
    instance = Path(rt.settings.instance)
    accounts = json.loads((instance / "bench-accounts.json").read_text())
    lead_name = accounts["teams"][0]["users"][0]["username"]
    db = rt.stores.case_sessions()
    user = db.execute(select(User).where(User.username == lead_name)).scalar_one()
    ctx = rt.context(
        db,
        AuditContext(
            actor_id=user.id, actor_role=str(user.role), request_id=None, client_address=None
        ),
        actor_for(user, ""),
    )
    access = access_for(ctx)
    # Students of the lead's schools, by their decrypted ids: what a team member would type.
    team_schools = accounts["teams"][0]["school_ids"]
    ids = (
        db.execute(
            select(Person.id)
            .join(CaseParty, CaseParty.person_id == Person.id)
            .where(Person.school_id.in_(team_schools), Person.kind == "student")
            .distinct()
        )
        .scalars()
        .all()
    )
    sample = rng.sample(list(ids), min(args.lookups, len(ids)))
    wanted = [(db.get(Person, pid).student_number, pid) for pid in sample]
    total_people = db.execute(text("SELECT count(*) FROM people")).scalar_one()
    db.commit()

    candidates: list[int] = []

    def full(number: str) -> list[Any]:
        data = PersonData(
            kind=PersonKind.STUDENT,
            given_name="",
            family_name="",
            date_of_birth=None,
            student_number=number,
        )
        by_number, _ = indexes_of(ctx, data)
        found = repository.people_by_index(
            db, access, student_id_index=by_number, name_dob_index=None
        )
        candidates.append(len(found))
        people = [p for p in found if same_person(p, data)]
        return [repository.cases_of_person(db, access, p.id) for p in people]

    full_t: list[float] = []
    for number, _pid in wanted[:5]:
        full(number)
    db.commit()
    candidates.clear()
    for number, _pid in wanted:
        started = time.perf_counter()
        cases = full(number)
        full_t.append(time.perf_counter() - started)
        # A new transaction per lookup, as per request: the keys are unwrapped again.
        db.commit()
        assert cases and cases[0], "the lead's own student was not found"

    with tempfile.TemporaryDirectory(prefix="btam-history-") as folder:
        engine = make_engine(args.plain_url or f"sqlite:///{folder}/plain.sqlite3")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE people (id INTEGER PRIMARY KEY, school_id INTEGER, "
                    "student_number TEXT, given_name TEXT, family_name TEXT, date_of_birth TEXT)"
                )
            )
            conn.execute(text("CREATE INDEX ix_people_number ON people (student_number)"))
            conn.execute(
                text(
                    "CREATE TABLE cases (id INTEGER PRIMARY KEY, number TEXT, status TEXT, "
                    "opened_at TEXT)"
                )
            )
            conn.execute(
                text(
                    "CREATE TABLE case_parties (id INTEGER PRIMARY KEY, case_id INTEGER, "
                    "person_id INTEGER, part TEXT)"
                )
            )
            conn.execute(text("CREATE INDEX ix_parties_person ON case_parties (person_id)"))
            source = rt.stores.case_engine.connect()
            known = dict((pid, number) for number, pid in wanted)
            rows = [
                {"id": pid, "s": school, "n": known.get(pid, f"{school or 0:04d}{pid:07d}")}
                for pid, school in source.execute(text("SELECT id, school_id FROM people"))
            ]
            conn.execute(
                text("INSERT INTO people VALUES (:id, :s, :n, 'Given', 'Family', '2010-01-01')"),
                rows,
            )
            conn.execute(
                text("INSERT INTO cases VALUES (:id, :n, :s, :o)"),
                [
                    {"id": r.id, "n": r.number, "s": r.status, "o": str(r.opened_at)}
                    for r in source.execute(text("SELECT id, number, status, opened_at FROM cases"))
                ],
            )
            conn.execute(
                text("INSERT INTO case_parties VALUES (:id, :c, :p, :part)"),
                [
                    {"id": r.id, "c": r.case_id, "p": r.person_id, "part": r.part}
                    for r in source.execute(
                        text("SELECT id, case_id, person_id, part FROM case_parties")
                    )
                ],
            )
            source.close()
        if engine.dialect.name == "postgresql":
            # The planner's statistics, as the case store has them (bench/seed.py settles it).
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        plain_t: list[float] = []
        with engine.connect() as conn:
            for number, _pid in wanted:
                started = time.perf_counter()
                people = conn.execute(
                    text(
                        "SELECT id, given_name, family_name FROM people WHERE student_number = :n"
                    ),
                    {"n": number},
                ).all()
                cases = [
                    conn.execute(
                        text(
                            "SELECT c.number, c.status, p.part FROM case_parties p JOIN cases c "
                            "ON c.id = p.case_id WHERE p.person_id = :p ORDER BY c.opened_at DESC"
                        ),
                        {"p": person.id},
                    ).all()
                    for person in people
                ]
                plain_t.append(time.perf_counter() - started)
                conn.commit()
                assert cases and cases[0]
        engine.dispose()
    db.close()
    rt.stores.dispose()

    blind, plain = figures(full_t), figures(plain_t)
    ratio = blind["median_ms"] / plain["median_ms"]
    mean_candidates = statistics.fmean(candidates)
    print(
        f"history lookup by student id, {len(wanted)} lookups among {total_people:,} people "
        f"(team lead's scope; {mean_candidates:.1f} blind-index candidates decrypted per lookup)"
    )
    print(
        f"  blind index, scope, decrypt, cases: median {blind['median_ms']:.2f} ms  "
        f"p95 {blind['p95_ms']:.2f} ms"
    )
    print(
        f"  plain indexed column, cases:        median {plain['median_ms']:.2f} ms  "
        f"p95 {plain['p95_ms']:.2f} ms   ratio {ratio:.1f}x"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "people": total_people,
                    "lookups": len(wanted),
                    "candidates": mean_candidates,
                    "blind": blind,
                    "plain": plain,
                    "ratio": ratio,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
