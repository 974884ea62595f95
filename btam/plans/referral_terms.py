"""The closed vocabularies of referrals and notifications: where a referral goes, the parent's
consent, its status and the moves between statuses, who must be told, and what a subject's
documented history is."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from btam.people.terms import DisclosureBasis


class Destination(StrEnum):
    """Where a referral sends the student (DOMAIN.md "Referral")."""

    COMMUNITY_MENTAL_HEALTH = "community_mental_health"
    LAW_ENFORCEMENT = "law_enforcement"
    YOUTH_COURT = "youth_court"
    CHILD_PROTECTIVE_SERVICES = "child_protective_services"
    SPECIAL_EDUCATION_TEAM = "special_education_team"
    COMMUNITY_SERVICES = "community_services"
    ANOTHER_SCHOOL = "another_school"

    @property
    def label(self) -> str:
        return DESTINATION_LABELS[self]

    @property
    def outside_school(self) -> bool:
        """Whether sending discloses education records outside the school officials (§99.32):
        the district's own special-education team is a school official, everyone else is not."""
        return self is not Destination.SPECIAL_EDUCATION_TEAM


DESTINATION_LABELS: Final = {
    Destination.COMMUNITY_MENTAL_HEALTH: "Community mental health",
    Destination.LAW_ENFORCEMENT: "Law enforcement",
    Destination.YOUTH_COURT: "Youth court",
    Destination.CHILD_PROTECTIVE_SERVICES: "Child protective services",
    Destination.SPECIAL_EDUCATION_TEAM: "Special-education team (inside the district)",
    Destination.COMMUNITY_SERVICES: "Community services",
    Destination.ANOTHER_SCHOOL: "Another school",
}


class Consent(StrEnum):
    """The parent's consent to the referral's disclosure."""

    OBTAINED = "obtained"  # written, naming the records, the purpose and the recipient
    NOT_NEEDED = "not_needed"  # a legal basis other than consent, chosen and stated
    REFUSED = "refused"  # the parent said no: nothing is sent outside the school

    @property
    def label(self) -> str:
        return CONSENT_LABELS[self]


CONSENT_LABELS: Final = {
    Consent.OBTAINED: "Obtained in writing",
    Consent.NOT_NEEDED: "Not needed: another legal basis",
    Consent.REFUSED: "Refused",
}

# The legal bases a referral may rest on without consent (consent itself is ``OBTAINED``).
LEGAL_BASES: Final = tuple(b for b in DisclosureBasis if b is not DisclosureBasis.PARENT_CONSENT)


class ReferralStatus(StrEnum):
    DRAFTED = "drafted"
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    SERVICE_STARTED = "service_started"
    COMPLETED = "completed"
    CLOSED_WITHOUT_SERVICE = "closed_without_service"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def open(self) -> bool:
        """Whether the team still follows it up: no service yet, and no reason why not."""
        return self in OPEN_STATUSES


STATUS_LABELS: Final = {
    ReferralStatus.DRAFTED: "Drafted",
    ReferralStatus.SENT: "Sent",
    ReferralStatus.ACCEPTED: "Accepted",
    ReferralStatus.DECLINED: "Declined",
    ReferralStatus.SERVICE_STARTED: "Service started",
    ReferralStatus.COMPLETED: "Completed",
    ReferralStatus.CLOSED_WITHOUT_SERVICE: "Closed without service",
}

OPEN_STATUSES: Final = frozenset(
    {ReferralStatus.DRAFTED, ReferralStatus.SENT, ReferralStatus.ACCEPTED}
)


class ReferralMove(StrEnum):
    """A step of a referral's life, each kept in its history."""

    SEND = "send"
    ACCEPT = "accept"
    DECLINE = "decline"
    START_SERVICE = "start_service"
    COMPLETE = "complete"
    CLOSE_WITHOUT_SERVICE = "close_without_service"
    FOLLOW_UP = "follow_up"  # a contact that changes nothing but the next follow-up date

    @property
    def label(self) -> str:
        return MOVE_LABELS[self]


MOVE_LABELS: Final = {
    ReferralMove.SEND: "Send",
    ReferralMove.ACCEPT: "Accepted by the recipient",
    ReferralMove.DECLINE: "Declined by the recipient",
    ReferralMove.START_SERVICE: "Service started",
    ReferralMove.COMPLETE: "Service completed",
    ReferralMove.CLOSE_WITHOUT_SERVICE: "Close without service",
    ReferralMove.FOLLOW_UP: "Followed up, no change",
}


class Audience(StrEnum):
    """Who must be told, and why (DOMAIN.md "Notification")."""

    TARGET = "target"  # a person the threat was aimed at
    TARGET_PARENTS = "target_parents"  # the parents of a threatened student
    STAFF = "staff"  # staff assigned to a subject with a documented history, in writing
    OTHER = "other"

    @property
    def label(self) -> str:
        return AUDIENCE_LABELS[self]


AUDIENCE_LABELS: Final = {
    Audience.TARGET: "A person threatened",
    Audience.TARGET_PARENTS: "Parents of a threatened student",
    Audience.STAFF: "Staff assigned to the subject (in writing, before the assignment)",
    Audience.OTHER: "Someone else",
}


class History(StrEnum):
    """A subject's documented history that obliges telling staff before an assignment."""

    VIOLENCE_AGAINST_STAFF = "violence_against_staff"
    WEAPON = "weapon"

    @property
    def label(self) -> str:
        return HISTORY_LABELS[self]


HISTORY_LABELS: Final = {
    History.VIOLENCE_AGAINST_STAFF: "Violence against staff",
    History.WEAPON: "Carrying a weapon",
}
