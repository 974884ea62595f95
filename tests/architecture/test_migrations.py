"""Each store's Alembic history matches its models and goes down and up again with data in it.

Run on SQLite always, and on PostgreSQL when BTAM_TEST_POSTGRES_URL names a server (skipped
otherwise, a failure under CI=true).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from btam import create_app, schema
from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import AuditContext
from btam.audit.models import AuditCheckpoint, AuditEntry
from btam.audit.signing import generate_signing_key_file, load_signing_key
from btam.audit.writer import AuditWriter
from btam.cases.models import Assignment
from btam.cases.services.guard import load_case
from btam.context import carry_out
from btam.db import Stores, make_engine, open_stores
from btam.intake.services import triage
from btam.intake.terms import TriageOutcome
from btam.models import metadata_for
from btam.plans.services.view import plan_view
from btam.plans.terms import ItemStatus
from btam.security.crypto import generate_key_file
from tests.support.cases import acting_as, seed_cases
from tests.support.intake import seed_report, student
from tests.support.personas import build_world
from tests.support.postgres import fresh_database

STORES = ("case", "audit")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """URLs of an empty case store and an empty audit store on one kind of database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/case.sqlite3", f"sqlite:///{tmp_path}/audit.sqlite3"
        return
    with fresh_database("btam_mig_case") as case_url, fresh_database("btam_mig_audit") as audit:
        yield case_url, audit


@pytest.fixture
def stores(urls: tuple[str, str]) -> Iterator[Stores]:
    opened = open_stores(*urls)
    yield opened
    opened.dispose()


def engine_of(stores: Stores, store: str) -> Engine:
    return stores.case_engine if store == "case" else stores.audit_engine


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def differences(engine: Engine, store: str) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata_for(store)))


# --- the histories -------------------------------------------------------------------------


@pytest.mark.parametrize("store", STORES)
def test_each_store_has_one_linear_history(store: str) -> None:
    scripts = ScriptDirectory.from_config(schema.alembic_config(store))  # type: ignore[arg-type]
    assert len(scripts.get_heads()) == 1
    assert len(scripts.get_bases()) == 1
    assert schema.head_revision(store) == scripts.get_current_head()  # type: ignore[arg-type]


def test_the_two_histories_are_separate() -> None:
    case = ScriptDirectory.from_config(schema.alembic_config("case"))
    audit = ScriptDirectory.from_config(schema.alembic_config("audit"))
    case_revisions = {r.revision for r in case.walk_revisions()}
    audit_revisions = {r.revision for r in audit.walk_revisions()}
    assert case_revisions and audit_revisions
    assert not case_revisions & audit_revisions


def test_the_models_of_the_two_stores_share_no_table() -> None:
    case_tables = set(metadata_for("case").tables)
    audit_tables = set(metadata_for("audit").tables)
    assert case_tables and audit_tables
    assert not case_tables & audit_tables


# --- head matches the models ---------------------------------------------------------------


@pytest.mark.parametrize("store", STORES)
def test_the_head_of_each_store_matches_its_models(stores: Stores, store: str) -> None:
    engine = engine_of(stores, store)
    assert differences(engine, store), "an empty store should differ from the models"
    schema.upgrade(engine, store)  # type: ignore[arg-type]
    assert schema.current_revision(engine) == schema.head_revision(store)  # type: ignore[arg-type]
    assert differences(engine, store) == []
    assert table_names(engine) == set(metadata_for(store).tables)


def test_each_history_creates_only_its_own_tables(stores: Stores) -> None:
    schema.upgrade(stores.case_engine, "case")
    schema.upgrade(stores.audit_engine, "audit")
    assert table_names(stores.case_engine) == set(metadata_for("case").tables)
    assert table_names(stores.audit_engine) == set(metadata_for("audit").tables)


@pytest.mark.parametrize("store", STORES)
def test_upgrading_twice_changes_nothing(stores: Stores, store: str) -> None:
    engine = engine_of(stores, store)
    schema.upgrade(engine, store)  # type: ignore[arg-type]
    schema.upgrade(engine, store)  # type: ignore[arg-type]
    assert differences(engine, store) == []


# --- down and up again with data -----------------------------------------------------------


def test_the_case_store_goes_down_and_up_again_with_data(
    urls: tuple[str, str], tmp_path: Path
) -> None:
    case_url, audit_url = urls
    stores = open_stores(case_url, audit_url)
    try:
        schema.upgrade(stores.case_engine, "case")
        schema.upgrade(stores.audit_engine, "audit")
    finally:
        stores.dispose()
    instance = tmp_path / "instance"
    instance.mkdir()
    generate_key_file(instance / "kek.key")
    generate_signing_key_file(instance / "audit-signing.key")
    settings = {
        "instance": str(instance),
        "database_url": case_url,
        "audit_database_url": audit_url,
        "secret_key": "migration-test-secret-" + "m" * 40,
    }

    app = create_app(settings)
    try:
        world = build_world(app)  # users, schools, teams, sessions' tables: through services
        assert world.people
        case_engine = app.extensions["btam"].stores.case_engine
        with case_engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM users")).scalar_one() == len(
                world.people
            )
        app.extensions["btam"].stores.dispose()

        schema.downgrade(case_engine, "case", "base")
        assert table_names(case_engine) == set()
        assert schema.current_revision(case_engine) is None

        schema.upgrade(case_engine, "case")
        assert differences(case_engine, "case") == []
        with case_engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM users")).scalar_one() == 0
        # The store works again: the same people can be made afresh.
        again = build_world(app)
        assert set(again.people) == set(world.people)
    finally:
        app.extensions["btam"].stores.dispose()


def test_upgrading_binds_the_keys_of_reports_already_triaged_into_a_case(
    urls: tuple[str, str], tmp_path: Path
) -> None:
    case_url, audit_url = urls
    stores = open_stores(case_url, audit_url)
    try:
        schema.upgrade(stores.case_engine, "case")
        schema.upgrade(stores.audit_engine, "audit")
    finally:
        stores.dispose()
    instance = tmp_path / "instance"
    instance.mkdir()
    generate_key_file(instance / "kek.key")
    generate_signing_key_file(instance / "audit-signing.key")
    app = create_app(
        {
            "instance": str(instance),
            "database_url": case_url,
            "audit_database_url": audit_url,
            "secret_key": "migration-test-secret-" + "m" * 40,
        }
    )
    try:
        world = build_world(app)
        triaged, waiting = seed_report(app, world), seed_report(app, world)
        with acting_as(app, world, "lead_ben") as ctx:
            number = carry_out(
                ctx,
                triage.decide(
                    ctx,
                    triaged,
                    triage.Decision(
                        outcome=TriageOutcome.OPENED_CASE,
                        screening={},
                        team_id=world.team_ids["north"],
                        summary="Opened before key bindings existed.",
                        subject=student("Pat", "Doe"),
                    ),
                ),
            )
        case_engine = app.extensions["btam"].stores.case_engine
        with case_engine.connect() as conn:
            case_id = conn.execute(
                text("SELECT id FROM cases WHERE number = :n"), {"n": number}
            ).scalar_one()
        app.extensions["btam"].stores.dispose()

        schema.downgrade(case_engine, "case", "0006_applied_changes")
        assert "data_key_bindings" not in table_names(case_engine)
        schema.upgrade(case_engine, "case")
        with case_engine.connect() as conn:
            bound = conn.execute(text("SELECT scope, bound_to FROM data_key_bindings")).all()
        assert [tuple(row) for row in bound] == [(f"report:{triaged}", f"case:{case_id}")]
        assert f"report:{waiting}" not in {scope for scope, _to in bound}
    finally:
        app.extensions["btam"].stores.dispose()


def test_the_audit_store_goes_down_and_up_again_with_data(stores: Stores, tmp_path: Path) -> None:
    engine = stores.audit_engine
    key_file = tmp_path / "audit-signing.key"
    generate_signing_key_file(key_file)
    writer = AuditWriter(
        stores.audit_sessions,
        signing_key=load_signing_key(key_file),
        checkpoint_every=2,
        witness=None,
    )

    def append_some() -> list[int]:
        return [
            writer.append(
                AuditContext.system(),
                action=AuditAction.SYSTEM_STORE_INITIALISED,
                outcome=Outcome.ALLOWED,
            ),
            writer.append(
                AuditContext(
                    actor_id=7, actor_role="district_admin", request_id="r1", client_address=None
                ),
                action=AuditAction.ADMIN_USER_CREATED,
                outcome=Outcome.ALLOWED,
                object_type="user",
                object_id=8,
            ),
            writer.append(
                AuditContext(
                    actor_id=None,
                    actor_role="anonymous",
                    request_id=None,
                    client_address="198.51.100.4",
                ),
                action=AuditAction.AUTH_LOGIN_FAILURE,
                outcome=Outcome.DENIED,
            ),
        ]

    schema.upgrade(engine, "audit")
    assert append_some() == [1, 2, 3]
    with stores.audit_sessions() as db:
        assert db.execute(select(func.count(AuditEntry.seq))).scalar_one() == 3
        assert db.execute(select(func.count(AuditCheckpoint.id))).scalar_one() == 1

    schema.downgrade(engine, "audit", "base")
    assert table_names(engine) == set()
    assert schema.current_revision(engine) is None
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            leftover = conn.execute(
                text("SELECT count(*) FROM pg_proc WHERE proname = 'audit_refuse_change'")
            ).scalar_one()
        assert leftover == 0

    schema.upgrade(engine, "audit")
    assert differences(engine, "audit") == []
    assert append_some() == [1, 2, 3]  # a new chain from the genesis


def test_the_audit_store_is_append_only_after_an_upgrade(stores: Stores, tmp_path: Path) -> None:
    """The migration installs the guards, not just the tables."""
    engine = stores.audit_engine
    schema.upgrade(engine, "audit")
    key_file = tmp_path / "audit-signing.key"
    generate_signing_key_file(key_file)
    writer = AuditWriter(
        stores.audit_sessions,
        signing_key=load_signing_key(key_file),
        checkpoint_every=0,
        witness=None,
    )
    writer.append(
        AuditContext.system(), action=AuditAction.SYSTEM_STORE_INITIALISED, outcome=Outcome.ALLOWED
    )
    for statement in (
        "UPDATE audit_entries SET action = 'auth:logout'",
        "DELETE FROM audit_entries",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT action FROM audit_entries")).scalar_one() == (
            "system:store:initialised"
        )


def test_a_sqlite_store_is_created_private(tmp_path: Path) -> None:
    """SQLite files of the stores are readable by their owner only (they hold records)."""
    engine = make_engine(f"sqlite:///{tmp_path}/private.sqlite3")
    try:
        schema.upgrade(engine, "case")
    finally:
        engine.dispose()
    mode = (tmp_path / "private.sqlite3").stat().st_mode & 0o777
    assert mode == 0o600


def test_upgrading_carries_work_assignments_over_into_plan_items(
    urls: tuple[str, str], tmp_path: Path
) -> None:
    case_url, audit_url = urls
    stores = open_stores(case_url, audit_url)
    try:
        schema.upgrade(stores.case_engine, "case")
        schema.upgrade(stores.audit_engine, "audit")
    finally:
        stores.dispose()
    instance = tmp_path / "instance"
    instance.mkdir()
    generate_key_file(instance / "kek.key")
    generate_signing_key_file(instance / "audit-signing.key")
    app = create_app(
        {
            "instance": str(instance),
            "database_url": case_url,
            "audit_database_url": audit_url,
            "secret_key": "migration-test-secret-" + "m" * 40,
        }
    )
    try:
        world = build_world(app)
        seeded = seed_cases(app, world)
        ana = world.people["counselor_ana"].user_id
        # Two assignments of before the plan, one of them done, written as the old service
        # wrote them (the text encrypted under the case's key, bound to its own row).
        with acting_as(app, world, "lead_ben") as ctx:
            case_id = load_case(ctx, seeded.north_quiet).case.id
            ctx.db.add_all(
                [
                    Assignment(case_id=case_id, user_id=ana, task="Call the family on Monday."),
                    Assignment(
                        case_id=case_id,
                        user_id=ana,
                        task="Check the bus roster.",
                        done_at=ctx.now,
                    ),
                ]
            )
            ctx.db.commit()
        case_engine = app.extensions["btam"].stores.case_engine
        app.extensions["btam"].stores.dispose()
        schema.downgrade(case_engine, "case", "0011_district_time_zone")
        assert "plan_items" not in table_names(case_engine)
        schema.upgrade(case_engine, "case")
        with acting_as(app, world, "counselor_ana") as ctx:
            loaded = load_case(ctx, seeded.north_quiet)
            view = plan_view(ctx, loaded)
        assert [(i.intervention, i.description, i.status, i.owner) for i in view.items] == [
            ("Other", "Call the family on Monday.", ItemStatus.PLANNED, "Ana Counselor"),
            ("Other", "Check the bus roster.", ItemStatus.DONE, "Ana Counselor"),
        ]
    finally:
        app.extensions["btam"].stores.dispose()
