"""The closed vocabulary of audited events, named ``source:subject:action``, and their outcomes.

An entry's action is always one of these values, so an auditor can filter on a known list
and a new code path cannot invent a spelling that no report looks for. Values are stored as
plain strings and hashed into the chain: never rename a value, only add new ones.
"""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    """Every event the audit trail records; nothing else may be appended."""

    AUTH_LOGIN_SUCCESS = "auth:login:success"
    AUTH_LOGIN_FAILURE = "auth:login:failure"
    AUTH_LOGIN_LOCKED = "auth:login:locked"
    AUTH_PASSWORD_ACCEPTED = "auth:password:accepted"  # noqa: S105  (an event name)
    AUTH_MFA_SUCCESS = "auth:mfa:success"
    AUTH_MFA_FAILURE = "auth:mfa:failure"
    AUTH_MFA_ENROLLED = "auth:mfa:enrolled"
    # The authenticator's set-up (its secret) made for a user, and shown again.
    AUTH_MFA_SETUP_STARTED = "auth:mfa_setup:started"
    AUTH_MFA_SETUP_VIEWED = "auth:mfa_setup:viewed"
    AUTH_RECOVERY_CODE_USED = "auth:recovery_code:used"
    AUTH_SESSION_SIGNED_OUT = "auth:session:signed_out"
    AUTH_SESSION_EXPIRED = "auth:session:expired"
    # The password asked again of a signed-in user (the account page, administrative changes).
    AUTH_REAUTH_SUCCESS = "auth:reauth:success"
    AUTH_REAUTH_FAILURE = "auth:reauth:failure"

    ACCOUNT_PASSWORD_CHANGED = "account:password:changed"  # noqa: S105  (an event name)
    ACCOUNT_SESSIONS_ENDED = "account:sessions:ended"

    ADMIN_USER_CREATED = "admin:user:created"
    ADMIN_USER_UPDATED = "admin:user:updated"
    ADMIN_USER_DISABLED = "admin:user:disabled"
    ADMIN_USER_ENABLED = "admin:user:enabled"
    ADMIN_USER_MFA_RESET = "admin:user:mfa_reset"
    ADMIN_USER_PASSWORD_RESET = "admin:user:password_reset"  # noqa: S105  (an event name)
    ADMIN_TEAM_CREATED = "admin:team:created"
    ADMIN_TEAM_UPDATED = "admin:team:updated"
    ADMIN_TEAM_DISABLED = "admin:team:disabled"
    ADMIN_TEAM_ENABLED = "admin:team:enabled"
    ADMIN_SCHOOL_CREATED = "admin:school:created"
    ADMIN_DISTRICT_CREATED = "admin:district:created"
    ADMIN_DISTRICT_UPDATED = "admin:district:updated"

    ACCESS_ROUTE_DENIED = "access:route:denied"
    ACCESS_RECORD_DENIED = "access:record:denied"
    ACCESS_EMERGENCY_GRANTED = "access:emergency:granted"
    ACCESS_EMERGENCY_ENDED = "access:emergency:ended"

    CASE_LIST_VIEWED = "case:list:viewed"
    CASE_RECORD_VIEWED = "case:record:viewed"
    CASE_RECORD_OPENED = "case:record:opened"
    CASE_RECORD_UPDATED = "case:record:updated"
    CASE_PARTY_ADDED = "case:party:added"
    CASE_MEMBER_ADDED = "case:member:added"
    CASE_MEMBER_REMOVED = "case:member:removed"
    CASE_ASSIGNMENT_ADDED = "case:assignment:added"
    CASE_ASSIGNMENT_DONE = "case:assignment:done"
    CASE_NOTE_ADDED = "case:note:added"
    CASE_ATTACHMENT_ADDED = "case:attachment:added"
    CASE_ATTACHMENT_DOWNLOADED = "case:attachment:downloaded"
    CASE_STATUS_CHANGED = "case:status:changed"
    CASE_FACT_ADDED = "case:fact:added"
    CASE_FACT_CORRECTED = "case:fact:corrected"
    CASE_ANSWER_RECORDED = "case:answer:recorded"
    CASE_DETERMINATION_RECORDED = "case:determination:recorded"
    CASE_DETERMINATION_CONFIRMED = "case:determination:confirmed"
    CASE_DETERMINATION_OBJECTED = "case:determination:objected"
    CASE_NOTICE_RECORDED = "case:notice:recorded"
    MEETING_LIST_VIEWED = "meeting:list:viewed"
    MEETING_RECORD_VIEWED = "meeting:record:viewed"
    MEETING_AGENDA_PRINTED = "meeting:agenda:printed"
    MEETING_MINUTES_PRINTED = "meeting:minutes:printed"
    MEETING_RECORD_SCHEDULED = "meeting:record:scheduled"
    MEETING_AGENDA_BUILT = "meeting:agenda:built"
    MEETING_AGENDA_CHANGED = "meeting:agenda:changed"
    MEETING_ATTENDEE_ADDED = "meeting:attendee:added"
    MEETING_ATTENDEE_ACKNOWLEDGED = "meeting:attendee:acknowledged"
    MEETING_MINUTES_RECORDED = "meeting:minutes:recorded"
    MEETING_DECISION_LINKED = "meeting:decision:linked"
    CASE_REFERRAL_DRAFTED = "case:referral:drafted"
    CASE_REFERRAL_CONSENT_RECORDED = "case:referral:consent_recorded"
    CASE_REFERRAL_MOVED = "case:referral:moved"
    CASE_REFERRAL_LETTER_VIEWED = "case:referral:letter_viewed"
    CASE_NOTIFICATION_RECORDED = "case:notification:recorded"
    CASE_PLAN_ITEM_ADDED = "case:plan_item:added"
    CASE_PLAN_ITEM_UPDATED = "case:plan_item:updated"
    CASE_LOG_ADDED = "case:log:added"
    CASE_REVIEW_RECORDED = "case:review:recorded"
    CASE_SUPPORT_PLAN_RECORDED = "case:support_plan:recorded"

    INTAKE_REPORT_SUBMITTED = "intake:report:submitted"
    INTAKE_TIP_RECEIVED = "intake:tip:received"
    INTAKE_TIP_CODE_REFUSED = "intake:tip_code:refused"
    INTAKE_TIP_FOLLOWED_UP = "intake:tip:followed_up"
    INTAKE_TIP_MESSAGE_ADDED = "intake:tip_message:added"
    INTAKE_TIP_LINE_FLOODED = "intake:tip_line:flooded"
    INTAKE_ATTACHMENT_DOWNLOADED = "intake:attachment:downloaded"

    TRIAGE_QUEUE_VIEWED = "triage:queue:viewed"
    TRIAGE_REPORT_VIEWED = "triage:report:viewed"
    TRIAGE_REPORT_DECIDED = "triage:report:decided"
    TRIAGE_IMMINENT_ACKNOWLEDGED = "triage:imminent:acknowledged"
    TRIAGE_ACTION_RECORDED = "triage:action:recorded"
    TRIAGE_PERSON_LINKED = "triage:person:linked"

    PERSON_RECORD_VIEWED = "person:record:viewed"
    PERSON_SEARCH_RUN = "person:search:run"
    PERSON_DISCLOSURE_RECORDED = "person:disclosure:recorded"
    PERSON_DISCLOSURES_VIEWED = "person:disclosures:viewed"
    PERSON_RECORD_MERGED = "person:record:merged"
    PERSON_HISTORY_RECORDED = "person:history:recorded"

    AUDIT_TRAIL_VIEWED = "audit:trail:viewed"
    AUDIT_TRAIL_EXPORTED = "audit:trail:exported"
    AUDIT_CHECKPOINT_SIGNED = "audit:checkpoint:signed"
    AUDIT_GRANT_REVIEWED = "audit:grant:reviewed"
    AUDIT_GRANTS_VIEWED = "audit:grants:viewed"
    AUDIT_CHANGE_NOT_APPLIED = "audit:change:not_applied"
    AUDIT_SIGNING_KEY_ROTATED = "audit:signing_key:rotated"

    SYSTEM_STORE_INITIALISED = "system:store:initialised"
    SYSTEM_DEMO_LOADED = "system:demo:loaded"
    SYSTEM_KEYS_ROTATED = "system:keys:rotated"
    SYSTEM_KEYS_REENCRYPTED = "system:keys:reencrypted"


# Actions whose entry says the case store was changed by the unit of work that wrote it: each
# allowed entry of these has a row in the case store's ``applied_changes`` (or a later
# ``audit:change:not_applied`` entry naming it), which is what ``btam audit reconcile`` checks.
# Not changes: views, searches, downloads and exports; refusals and failed sign-ins (their
# throttle counters are bookkeeping, not a change the entry claims); the audit store's own
# events; and operator commands that run outside a unit of work (``btam init``, ``btam keys
# rotate``, which record when they start and when they fail rather than one change).
CHANGE_ACTIONS: frozenset[AuditAction] = frozenset(
    {
        AuditAction.AUTH_LOGIN_SUCCESS,  # opens a session
        AuditAction.AUTH_MFA_SUCCESS,  # records the code's time step (no replay)
        AuditAction.AUTH_MFA_ENROLLED,
        AuditAction.AUTH_MFA_SETUP_STARTED,  # keeps the secret being enrolled
        AuditAction.AUTH_RECOVERY_CODE_USED,
        AuditAction.AUTH_SESSION_SIGNED_OUT,
        AuditAction.AUTH_SESSION_EXPIRED,  # ends the session, though its outcome is "denied"
        AuditAction.AUTH_REAUTH_SUCCESS,  # records the check on the session
        AuditAction.ACCOUNT_PASSWORD_CHANGED,
        AuditAction.ACCOUNT_SESSIONS_ENDED,
        AuditAction.ADMIN_USER_CREATED,
        AuditAction.ADMIN_USER_UPDATED,
        AuditAction.ADMIN_USER_DISABLED,
        AuditAction.ADMIN_USER_ENABLED,
        AuditAction.ADMIN_USER_MFA_RESET,
        AuditAction.ADMIN_USER_PASSWORD_RESET,
        AuditAction.ADMIN_TEAM_CREATED,
        AuditAction.ADMIN_TEAM_UPDATED,
        AuditAction.ADMIN_TEAM_DISABLED,
        AuditAction.ADMIN_TEAM_ENABLED,
        AuditAction.ADMIN_SCHOOL_CREATED,
        AuditAction.ADMIN_DISTRICT_CREATED,
        AuditAction.ADMIN_DISTRICT_UPDATED,
        AuditAction.ACCESS_EMERGENCY_GRANTED,
        AuditAction.ACCESS_EMERGENCY_ENDED,
        AuditAction.CASE_RECORD_OPENED,
        AuditAction.CASE_RECORD_UPDATED,
        AuditAction.CASE_PARTY_ADDED,
        AuditAction.CASE_MEMBER_ADDED,
        AuditAction.CASE_MEMBER_REMOVED,
        AuditAction.CASE_ASSIGNMENT_ADDED,
        AuditAction.CASE_ASSIGNMENT_DONE,
        AuditAction.CASE_NOTE_ADDED,
        AuditAction.CASE_ATTACHMENT_ADDED,
        AuditAction.CASE_STATUS_CHANGED,
        AuditAction.CASE_FACT_ADDED,
        AuditAction.CASE_FACT_CORRECTED,
        AuditAction.CASE_ANSWER_RECORDED,
        AuditAction.CASE_DETERMINATION_RECORDED,
        AuditAction.CASE_DETERMINATION_CONFIRMED,
        AuditAction.CASE_DETERMINATION_OBJECTED,
        AuditAction.CASE_NOTICE_RECORDED,
        AuditAction.MEETING_RECORD_SCHEDULED,
        AuditAction.MEETING_AGENDA_BUILT,
        AuditAction.MEETING_AGENDA_CHANGED,
        AuditAction.MEETING_ATTENDEE_ADDED,
        AuditAction.MEETING_ATTENDEE_ACKNOWLEDGED,
        AuditAction.MEETING_MINUTES_RECORDED,
        AuditAction.MEETING_DECISION_LINKED,
        AuditAction.CASE_REFERRAL_DRAFTED,
        AuditAction.CASE_REFERRAL_CONSENT_RECORDED,
        AuditAction.CASE_REFERRAL_MOVED,
        AuditAction.CASE_NOTIFICATION_RECORDED,
        AuditAction.CASE_PLAN_ITEM_ADDED,
        AuditAction.CASE_PLAN_ITEM_UPDATED,
        AuditAction.CASE_LOG_ADDED,
        AuditAction.CASE_REVIEW_RECORDED,
        AuditAction.CASE_SUPPORT_PLAN_RECORDED,
        AuditAction.INTAKE_REPORT_SUBMITTED,
        AuditAction.INTAKE_TIP_RECEIVED,
        AuditAction.INTAKE_TIP_MESSAGE_ADDED,
        AuditAction.TRIAGE_REPORT_DECIDED,
        AuditAction.TRIAGE_IMMINENT_ACKNOWLEDGED,
        AuditAction.TRIAGE_ACTION_RECORDED,
        AuditAction.TRIAGE_PERSON_LINKED,
        AuditAction.PERSON_DISCLOSURE_RECORDED,
        AuditAction.PERSON_RECORD_MERGED,
        AuditAction.PERSON_HISTORY_RECORDED,
        AuditAction.SYSTEM_DEMO_LOADED,
    }
)


class Outcome(StrEnum):
    """Whether the audited action was carried out, refused, or failed."""

    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"
