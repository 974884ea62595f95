"""Sign-in throttling and server-side sessions (btam/accounts/authn.py) on a real SQLite store.

Time is passed in explicitly, so every limit is tested at its edge without waiting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from btam import schema
from btam.access.actor import Role
from btam.accounts import authn
from btam.accounts.models import RecoveryCode, SigninCounter, SigninStepToken, User, UserSession
from btam.db import Stores, open_stores
from btam.errors import StoreUnavailable

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
RULES = authn.SessionRules(idle=timedelta(minutes=15), absolute=timedelta(hours=8))


def throttle(**changes: object) -> authn.Throttle:
    values: dict[str, object] = {
        "secret": b"unit-test-throttle-secret-" + b"k" * 16,
        "account_limit": 5,
        "address_limit": 20,
        "window": timedelta(minutes=15),
        "lockout": timedelta(minutes=15),
    }
    values.update(changes)
    return authn.Throttle(**values)  # type: ignore[arg-type]


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    opened = open_stores(f"sqlite:///{tmp_path}/case.sqlite3", f"sqlite:///{tmp_path}/audit.db")
    schema.upgrade(opened.case_engine, "case")
    yield opened
    opened.dispose()


@pytest.fixture
def db(stores: Stores) -> Iterator[Session]:
    with stores.case_sessions() as session:
        yield session


def make_user(db: Session, username: str, *, active: bool = True) -> int:
    user = User(
        username=username,
        display_name=username.title(),
        role=Role.STAFF,
        password_hash="not-a-real-hash",
        is_active=active,
        must_change_password=False,
        password_changed_at=T0,
        created_at=T0,
    )
    db.add(user)
    db.commit()
    return user.id


def fail(db: Session, t: authn.Throttle, times: int, *, at: datetime, **who: str) -> None:
    """``times`` attempts let through and never given back: failures."""
    for _ in range(times):
        attempt = t.count_attempt(
            db,
            username=who.get("username", "member_gus"),
            address=who.get("address", "203.0.113.7"),
            now=at,
        )
        assert attempt.admitted
        db.commit()


def locked(db: Session, t: authn.Throttle, *, at: datetime, **who: str) -> bool:
    return t.is_locked(
        db,
        username=who.get("username", "member_gus"),
        address=who.get("address", "198.51.100.1"),
        now=at,
    )


def attempts_of(db: Session, key: str) -> int | None:
    return db.execute(
        select(SigninCounter.attempts).where(SigninCounter.key_hash == key)
    ).scalar_one_or_none()


# --- throttle keys -------------------------------------------------------------------------


def test_failures_are_stored_under_keyed_digests_never_names_or_addresses(db: Session) -> None:
    t = throttle()
    fail(db, t, 1, at=T0, username="member_gus", address="203.0.113.7")
    rows = list(db.execute(select(SigninCounter)).scalars())
    assert {r.scope for r in rows} == {"account", "address"}
    stored = " ".join(r.key_hash for r in rows)
    assert "member_gus" not in stored and "203.0.113.7" not in stored
    # Not a plain digest either, which anyone could recompute from a list of names.
    for plain in ("member_gus", "203.0.113.7", "account\x00member_gus"):
        assert hashlib.sha256(plain.encode()).hexdigest() not in stored
    assert t.account_key("member_gus") in stored
    assert t.address_key("203.0.113.7") in stored


def test_the_keys_depend_on_the_secret() -> None:
    one, other = throttle(), throttle(secret=b"another-secret-" + b"z" * 24)
    assert one.account_key("member_gus") != other.account_key("member_gus")
    assert one.address_key("203.0.113.7") != other.address_key("203.0.113.7")


def test_an_account_and_an_address_with_the_same_text_have_different_keys() -> None:
    t = throttle()
    assert t.account_key("203.0.113.7") != t.address_key("203.0.113.7")


@pytest.mark.parametrize("typed", ["Member_Gus", " member_gus ", "MEMBER_GUS"])
def test_the_account_key_ignores_case_and_surrounding_spaces(typed: str) -> None:
    t = throttle()
    assert t.account_key(typed) == t.account_key("member_gus")


def test_distinct_names_have_distinct_keys() -> None:
    t = throttle()
    keys = {t.account_key(f"user{n}") for n in range(500)}
    assert len(keys) == 500


# --- counting before checking ----------------------------------------------------------------


def test_an_attempt_past_the_limit_is_refused_and_not_counted(db: Session) -> None:
    t = throttle()
    fail(db, t, 5, at=T0)
    refused = t.count_attempt(db, username="member_gus", address="203.0.113.7", now=T0)
    db.commit()
    assert not refused.admitted and refused.counted == ()
    assert attempts_of(db, t.account_key("member_gus")) == 5
    assert attempts_of(db, t.address_key("203.0.113.7")) == 5


def test_attempts_still_being_checked_count_towards_the_limit(db: Session) -> None:
    """Five attempts in flight at once: a sixth is refused before any of them is answered."""
    t = throttle()
    in_flight = [
        t.count_attempt(db, username="member_gus", address=f"192.0.2.{n}", now=T0) for n in range(5)
    ]
    db.commit()
    assert all(a.admitted for a in in_flight)
    sixth = t.count_attempt(db, username="member_gus", address="192.0.2.99", now=T0)
    assert not sixth.admitted


def test_a_right_attempt_gives_its_count_back(db: Session) -> None:
    t = throttle()
    fail(db, t, 4, at=T0)
    right = t.count_attempt(db, username="member_gus", address="203.0.113.7", now=T0)
    assert right.admitted
    t.give_back(db, right)
    db.commit()
    assert attempts_of(db, t.account_key("member_gus")) == 4
    assert attempts_of(db, t.address_key("203.0.113.7")) == 4
    assert not locked(db, t, at=T0)


def test_an_attempt_refused_by_its_address_is_not_counted_against_the_account(
    db: Session,
) -> None:
    t = throttle(address_limit=3)
    for n in range(3):
        fail(db, t, 1, at=T0, username=f"guess{n}", address="203.0.113.7")
    refused = t.count_attempt(db, username="member_gus", address="203.0.113.7", now=T0)
    db.commit()
    assert not refused.admitted
    assert attempts_of(db, t.account_key("member_gus")) == 0


def test_many_right_sign_ins_from_one_school_address_never_lock_it(db: Session) -> None:
    t = throttle()
    for n in range(50):
        right = t.count_attempt(db, username=f"teacher{n}", address="203.0.113.7", now=T0)
        assert right.admitted
        t.give_back(db, right)
        db.commit()
    assert not locked(db, t, at=T0, username="someone", address="203.0.113.7")


# --- locking -------------------------------------------------------------------------------


def test_an_account_locks_at_the_limit_not_before(db: Session) -> None:
    t = throttle()
    fail(db, t, 4, at=T0)
    assert not locked(db, t, at=T0 + MINUTE)
    fail(db, t, 1, at=T0 + MINUTE)
    assert locked(db, t, at=T0 + MINUTE)
    # Whatever the address: the lock is on the account.
    assert locked(db, t, at=T0 + MINUTE, address="192.0.2.99")
    assert not locked(db, t, at=T0 + MINUTE, username="lead_ben")


def test_an_address_locks_at_its_own_limit_for_any_account(db: Session) -> None:
    t = throttle()
    for n in range(19):
        fail(db, t, 1, at=T0, username=f"guess{n}", address="203.0.113.7")
    assert not locked(db, t, at=T0, username="lead_ben", address="203.0.113.7")
    fail(db, t, 1, at=T0, username="guess19", address="203.0.113.7")
    assert locked(db, t, at=T0, username="lead_ben", address="203.0.113.7")
    assert not locked(db, t, at=T0, username="lead_ben", address="198.51.100.20")


def test_a_lock_expires_after_the_lockout(db: Session) -> None:
    t = throttle()
    fail(db, t, 5, at=T0)
    assert locked(db, t, at=T0 + 14 * MINUTE)
    assert locked(db, t, at=T0 + 15 * MINUTE - timedelta(seconds=1))
    assert not locked(db, t, at=T0 + 15 * MINUTE + timedelta(seconds=1))
    # And the next attempt starts a count of its own.
    fail(db, t, 1, at=T0 + 16 * MINUTE)
    assert attempts_of(db, t.account_key("member_gus")) == 1


def test_failures_older_than_the_window_do_not_count(db: Session) -> None:
    t = throttle()
    fail(db, t, 4, at=T0)
    fail(db, t, 1, at=T0 + 16 * MINUTE)
    assert not locked(db, t, at=T0 + 16 * MINUTE)


def test_a_lock_lasts_the_whole_lockout_after_the_last_failure(db: Session) -> None:
    """README: five failures within 15 minutes lock the account for 15 minutes.

    Failures spread over the window lock at the fifth; the lock must not lift a minute later
    because the first failure has left the window.
    """
    t = throttle()
    for minute in (0, 1, 2, 3, 14):
        fail(db, t, 1, at=T0 + minute * MINUTE)
    assert locked(db, t, at=T0 + 14 * MINUTE)
    assert locked(db, t, at=T0 + 16 * MINUTE)
    assert locked(db, t, at=T0 + 28 * MINUTE)
    assert not locked(db, t, at=T0 + 30 * MINUTE)


def test_refused_attempts_do_not_prolong_the_lockout(db: Session) -> None:
    t = throttle()
    fail(db, t, 5, at=T0)
    for minute in range(1, 15):
        refused = t.count_attempt(
            db, username="member_gus", address="203.0.113.7", now=T0 + minute * MINUTE
        )
        assert not refused.admitted
        db.commit()
    assert not locked(db, t, at=T0 + 16 * MINUTE)


def test_a_lockout_longer_than_the_window_is_honoured(db: Session) -> None:
    """BTAM_SIGNIN_LOCKOUT_MINUTES=60 must lock for an hour, not for the 15-minute window."""
    t = throttle(lockout=timedelta(minutes=60))
    fail(db, t, 5, at=T0)
    assert locked(db, t, at=T0 + 10 * MINUTE)
    assert locked(db, t, at=T0 + 30 * MINUTE)
    assert locked(db, t, at=T0 + 59 * MINUTE)
    refused = t.count_attempt(db, username="member_gus", address="192.0.2.1", now=T0 + 30 * MINUTE)
    assert not refused.admitted
    assert not locked(db, t, at=T0 + 61 * MINUTE)


def test_clearing_an_account_keeps_the_address_count(db: Session) -> None:
    t = throttle(address_limit=5)
    fail(db, t, 5, at=T0, username="member_gus", address="203.0.113.7")
    t.clear_account(db, username="Member_Gus")
    db.commit()
    assert not locked(db, t, at=T0, username="member_gus", address="198.51.100.1")
    assert locked(db, t, at=T0, username="someone_else", address="203.0.113.7")


def test_old_counts_are_pruned_when_a_new_attempt_is_counted(db: Session) -> None:
    t = throttle()
    fail(db, t, 3, at=T0, username="old_name", address="192.0.2.1")
    fail(db, t, 2, at=T0 + 29 * MINUTE, username="recent", address="192.0.2.2")
    # Kept twice the longer of window and lockout (30 minutes here), then pruned.
    fail(db, t, 1, at=T0 + 31 * MINUTE, username="new", address="192.0.2.3")
    rows = list(db.execute(select(SigninCounter)).scalars())
    assert {r.key_hash for r in rows} == {
        t.account_key("recent"),
        t.address_key("192.0.2.2"),
        t.account_key("new"),
        t.address_key("192.0.2.3"),
    }


def test_pruning_never_forgets_a_failure_that_still_locks(db: Session) -> None:
    t = throttle(lockout=timedelta(minutes=60))
    fail(db, t, 5, at=T0)
    fail(db, t, 1, at=T0 + 50 * MINUTE, username="another", address="192.0.2.50")
    assert attempts_of(db, t.account_key("member_gus")) == 5


def test_an_attempt_that_cannot_be_counted_is_refused_with_an_error(
    db: Session, stores: Stores
) -> None:
    t = throttle()
    with stores.case_engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse_counts BEFORE INSERT ON signin_counters "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    with pytest.raises(StoreUnavailable):
        t.count_attempt(db, username="member_gus", address="203.0.113.7", now=T0)


# --- second factor and one-time tokens -------------------------------------------------------


def test_a_totp_step_is_consumed_once(db: Session) -> None:
    user_id = make_user(db, "lead_ben")
    assert authn.consume_totp_step(db, user_id=user_id, step=100)
    db.commit()
    assert not authn.consume_totp_step(db, user_id=user_id, step=100)
    assert not authn.consume_totp_step(db, user_id=user_id, step=99)
    assert authn.consume_totp_step(db, user_id=user_id, step=101)


def test_a_recovery_code_is_consumed_once(db: Session) -> None:
    user_id = make_user(db, "lead_ben")
    db.add(RecoveryCode(user_id=user_id, code_hash="d" * 64))
    db.commit()
    assert not authn.consume_recovery_code(db, user_id=user_id, digest="e" * 64, now=T0)
    assert authn.consume_recovery_code(db, user_id=user_id, digest="d" * 64, now=T0)
    db.commit()
    assert not authn.consume_recovery_code(db, user_id=user_id, digest="d" * 64, now=T0)


def test_another_users_recovery_code_is_not_consumed(db: Session) -> None:
    ben, gus = make_user(db, "lead_ben"), make_user(db, "member_gus")
    db.add(RecoveryCode(user_id=ben, code_hash="d" * 64))
    db.commit()
    assert not authn.consume_recovery_code(db, user_id=gus, digest="d" * 64, now=T0)


def test_a_step_token_is_used_once_and_only_its_digest_is_stored(db: Session) -> None:
    user_id = make_user(db, "officer_hal")
    token = authn.issue_step_token(
        db, user_id=user_id, step="done", now=T0, lifetime=timedelta(minutes=5)
    )
    db.commit()
    stored = db.execute(select(SigninStepToken.token_hash)).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert authn.use_step_token(db, token=token, user_id=user_id, step="done", now=T0 + MINUTE)
    db.commit()
    assert not authn.use_step_token(db, token=token, user_id=user_id, step="done", now=T0)


@pytest.mark.parametrize("change", ["late", "other user", "other step", "wrong token", "empty"])
def test_a_step_token_opens_nothing_else(db: Session, change: str) -> None:
    user_id = make_user(db, "officer_hal")
    other = make_user(db, "member_gus")
    token = authn.issue_step_token(
        db, user_id=user_id, step="done", now=T0, lifetime=timedelta(minutes=5)
    )
    db.commit()
    used = {
        "late": {"now": T0 + 5 * MINUTE},
        "other user": {"user_id": other},
        "other step": {"step": "enrol"},
        "wrong token": {"token": token[:-1] + ("A" if token[-1] != "A" else "B")},
        "empty": {"token": ""},
    }[change]
    arguments: dict[str, object] = {"token": token, "user_id": user_id, "step": "done", "now": T0}
    arguments.update(used)
    assert not authn.use_step_token(db, **arguments)  # type: ignore[arg-type]


# --- sessions ------------------------------------------------------------------------------


def use(db: Session, *, token: str, now: datetime) -> authn.FoundSession | None:
    """A request's use of a session, as ``signin.resume`` makes it: find, then end or touch."""
    found = authn.find_session(db, token=token, rules=RULES, now=now)
    if found is not None and found.ends is not None:
        authn.end_session_now(db, session_id=found.session_id, reason=found.ends, now=now)
    elif found is not None and found.touch_due:
        authn.touch_session(db, session_id=found.session_id, now=now, rules=RULES)
    db.commit()
    return found


def test_a_session_token_is_random_and_only_its_digest_is_stored(db: Session) -> None:
    user_id = make_user(db, "teacher_cam")
    tokens = {authn.start_session(db, user_id=user_id, now=T0) for _ in range(20)}
    db.commit()
    assert len(tokens) == 20
    stored = {row.token_hash for row in db.execute(select(UserSession)).scalars()}
    for token in tokens:
        assert len(token) >= 43  # 32 random bytes
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_a_live_session_resumes_with_its_user(db: Session) -> None:
    user_id = make_user(db, "teacher_cam")
    token = authn.start_session(db, user_id=user_id, now=T0)
    db.commit()
    found = use(db, token=token, now=T0 + MINUTE)
    assert found is not None
    assert found.user.id == user_id and found.ends is None


@pytest.mark.parametrize("token", ["", "unknown-token", "x" * 1000])
def test_an_unknown_token_resumes_nothing(db: Session, token: str) -> None:
    make_user(db, "teacher_cam")
    assert use(db, token=token, now=T0) is None


def test_a_session_ends_after_fifteen_idle_minutes(db: Session) -> None:
    user_id = make_user(db, "teacher_cam")
    token = authn.start_session(db, user_id=user_id, now=T0)
    db.commit()
    found = use(db, token=token, now=T0 + 14 * MINUTE)
    assert found is not None and found.ends is None
    db.commit()
    # Used at minute 14: idle is counted from then.
    found = use(db, token=token, now=T0 + 28 * MINUTE)
    assert found is not None and found.ends is None
    db.commit()
    found = use(db, token=token, now=T0 + 43 * MINUTE)
    assert found is not None and found.ends == "idle_timeout"
    db.commit()
    assert use(db, token=token, now=T0 + 43 * MINUTE) is None
    row = db.execute(select(UserSession)).scalar_one()
    assert row.end_reason == "idle_timeout" and row.ended_at is not None


def test_an_ended_session_stays_ended_even_if_used_at_once(db: Session) -> None:
    user_id = make_user(db, "teacher_cam")
    token = authn.start_session(db, user_id=user_id, now=T0)
    db.commit()
    use(db, token=token, now=T0 + 16 * MINUTE)
    db.commit()
    assert use(db, token=token, now=T0 + 16 * MINUTE) is None


def test_a_session_ends_after_eight_hours_however_active(db: Session) -> None:
    user_id = make_user(db, "teacher_cam")
    token = authn.start_session(db, user_id=user_id, now=T0)
    db.commit()
    moment = T0
    while moment < T0 + timedelta(hours=8) - 10 * MINUTE:
        moment += 10 * MINUTE
        found = use(db, token=token, now=moment)
        assert found is not None and found.ends is None, moment
        db.commit()
    found = use(db, token=token, now=T0 + timedelta(hours=8))
    assert found is not None and found.ends == "absolute_timeout"
    db.commit()
    assert use(db, token=token, now=T0 + timedelta(hours=8)) is None


def test_last_seen_is_written_only_every_so_often(db: Session) -> None:
    user_id = make_user(db, "teacher_cam")
    token = authn.start_session(db, user_id=user_id, now=T0)
    db.commit()
    found = authn.find_session(db, token=token, rules=RULES, now=T0 + timedelta(seconds=10))
    assert found is not None and not found.touch_due
    use(db, token=token, now=T0 + timedelta(seconds=40))
    db.expire_all()
    assert db.execute(select(UserSession.last_seen_at)).scalar_one() == T0 + timedelta(seconds=40)


def test_a_touch_written_by_another_request_meanwhile_is_not_written_again(db: Session) -> None:
    user_id = make_user(db, "teacher_cam")
    token = authn.start_session(db, user_id=user_id, now=T0)
    db.commit()
    found = authn.find_session(db, token=token, rules=RULES, now=T0 + timedelta(seconds=40))
    assert found is not None and found.touch_due
    authn.touch_session(
        db, session_id=found.session_id, now=T0 + timedelta(seconds=45), rules=RULES
    )
    authn.touch_session(
        db, session_id=found.session_id, now=T0 + timedelta(seconds=40), rules=RULES
    )
    db.commit()
    assert db.execute(select(UserSession.last_seen_at)).scalar_one() == T0 + timedelta(seconds=45)


def test_a_session_is_ended_by_one_request_only(db: Session) -> None:
    user_id = make_user(db, "teacher_cam")
    token = authn.start_session(db, user_id=user_id, now=T0)
    db.commit()
    at = T0 + 16 * MINUTE
    first = authn.find_session(db, token=token, rules=RULES, now=at)
    second = authn.find_session(db, token=token, rules=RULES, now=at)
    assert first is not None and second is not None
    assert first.ends == second.ends == "idle_timeout"
    assert authn.end_session_now(db, session_id=first.session_id, reason="idle_timeout", now=at)
    assert not authn.end_session_now(
        db, session_id=second.session_id, reason="idle_timeout", now=at
    )


def test_a_session_starts_reauthenticated_and_records_a_later_check(db: Session) -> None:
    user_id = make_user(db, "admin_fay")
    token = authn.start_session(db, user_id=user_id, now=T0)
    db.commit()
    assert authn.reauthenticated_since(db, token=token, since=T0)
    assert not authn.reauthenticated_since(db, token=token, since=T0 + MINUTE)
    authn.mark_reauthenticated(db, token=token, now=T0 + 20 * MINUTE)
    db.commit()
    assert authn.reauthenticated_since(db, token=token, since=T0 + 5 * MINUTE)
    authn.end_session(db, token=token, reason="signed_out", now=T0 + 21 * MINUTE)
    db.commit()
    assert not authn.reauthenticated_since(db, token=token, since=T0)
    assert not authn.reauthenticated_since(db, token="", since=T0)


def test_a_disabled_users_session_ends_at_its_next_use(db: Session) -> None:
    user_id = make_user(db, "teacher_cam")
    token = authn.start_session(db, user_id=user_id, now=T0)
    db.commit()
    user = db.get(User, user_id)
    assert user is not None
    user.is_active = False
    db.commit()
    found = use(db, token=token, now=T0 + MINUTE)
    assert found is not None and found.ends == "disabled"
    db.commit()
    assert use(db, token=token, now=T0 + MINUTE) is None


def test_ending_one_session_leaves_the_others(db: Session) -> None:
    user_id = make_user(db, "teacher_cam")
    first = authn.start_session(db, user_id=user_id, now=T0)
    second = authn.start_session(db, user_id=user_id, now=T0)
    db.commit()
    authn.end_session(db, token=first, reason="signed_out", now=T0 + MINUTE)
    db.commit()
    assert use(db, token=first, now=T0 + MINUTE) is None
    assert use(db, token=second, now=T0 + MINUTE) is not None


def test_ending_a_users_sessions_keeps_only_the_named_one(db: Session) -> None:
    user_id = make_user(db, "lead_ben")
    other_user = make_user(db, "member_gus")
    keep = authn.start_session(db, user_id=user_id, now=T0)
    others = [authn.start_session(db, user_id=user_id, now=T0) for _ in range(3)]
    bystander = authn.start_session(db, user_id=other_user, now=T0)
    db.commit()
    ended = authn.end_user_sessions(
        db, user_id=user_id, reason="password_changed", now=T0 + MINUTE, keep_token=keep
    )
    db.commit()
    assert ended == 3
    assert use(db, token=keep, now=T0 + MINUTE) is not None
    for token in others:
        assert use(db, token=token, now=T0 + MINUTE) is None
    assert use(db, token=bystander, now=T0 + MINUTE) is not None
    reasons = {
        row.end_reason
        for row in db.execute(
            select(UserSession).where(UserSession.ended_at.is_not(None))
        ).scalars()
    }
    assert reasons == {"password_changed"}


def test_ending_every_session_of_a_user_counts_only_live_ones(db: Session) -> None:
    user_id = make_user(db, "lead_ben")
    tokens = [authn.start_session(db, user_id=user_id, now=T0) for _ in range(3)]
    db.commit()
    authn.end_session(db, token=tokens[0], reason="signed_out", now=T0)
    db.commit()
    assert authn.end_user_sessions(db, user_id=user_id, reason="disabled", now=T0) == 2
    db.commit()
    assert authn.end_user_sessions(db, user_id=user_id, reason="disabled", now=T0) == 0
    first = db.execute(
        select(UserSession).where(
            UserSession.token_hash == hashlib.sha256(tokens[0].encode()).hexdigest()
        )
    ).scalar_one()
    assert first.end_reason == "signed_out"  # an earlier end is not overwritten


def test_the_live_session_count_leaves_out_ended_idle_and_old_sessions(db: Session) -> None:
    user_id = make_user(db, "lead_ben")
    now = T0 + timedelta(hours=9)
    authn.start_session(db, user_id=user_id, now=now - MINUTE)  # live
    authn.start_session(db, user_id=user_id, now=now - 20 * MINUTE)  # idle
    old = authn.start_session(db, user_id=user_id, now=T0)  # older than 8 hours
    ended = authn.start_session(db, user_id=user_id, now=now - MINUTE)
    db.commit()
    row = db.execute(
        select(UserSession).where(
            UserSession.token_hash == hashlib.sha256(old.encode()).hexdigest()
        )
    ).scalar_one()
    row.last_seen_at = now - MINUTE
    authn.end_session(db, token=ended, reason="signed_out", now=now)
    db.commit()
    assert authn.live_session_count(db, user_id=user_id, now=now, rules=RULES) == 1
