"""The closed vocabularies of meetings: regular or urgent, what an agenda item is about, and
which decisions a meeting carries into the cases."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class MeetingKind(StrEnum):
    REGULAR = "regular"
    URGENT = "urgent"

    @property
    def label(self) -> str:
        return MEETING_KIND_LABELS[self]


MEETING_KIND_LABELS: Final = {MeetingKind.REGULAR: "Regular", MeetingKind.URGENT: "Urgent"}


class ItemKind(StrEnum):
    """What an agenda item asks of the team; the first ones come from the team's work."""

    TRIAGE = "triage"  # a report waiting for triage
    ASSESSMENT = "assessment"  # a case still in assessment
    CONFIRMATION = "confirmation"  # a determination waiting for its participants
    REVIEW_DUE = "review_due"  # a case whose review falls due by the meeting (plans)
    PLAN_OVERDUE = "plan_overdue"  # a plan item past its date (plans)
    REFERRAL_FOLLOW_UP = "referral_follow_up"  # a referral to follow up (plans)
    NOTIFICATION = "notification"  # a notification still outstanding (plans)
    CASE = "case"  # a case the lead put on the agenda
    TOPIC = "topic"  # a free topic the lead put on the agenda

    @property
    def label(self) -> str:
        return ITEM_KIND_LABELS[self]


ITEM_KIND_LABELS: Final = {
    ItemKind.TRIAGE: "Report awaiting triage",
    ItemKind.ASSESSMENT: "Case in assessment",
    ItemKind.CONFIRMATION: "Determination waiting for confirmation",
    ItemKind.REVIEW_DUE: "Review due",
    ItemKind.PLAN_OVERDUE: "Plan item overdue",
    ItemKind.REFERRAL_FOLLOW_UP: "Referral to follow up",
    ItemKind.NOTIFICATION: "Notification outstanding",
    ItemKind.CASE: "Case",
    ItemKind.TOPIC: "Topic",
}


class DecisionKind(StrEnum):
    """A decision the meeting took on a case, carried out by the case's own services."""

    DETERMINATION = "determination"
    LEVEL_CHANGE = "level_change"  # through a new determination
    CLOSURE = "closure"
    # Plans (issue 12) add theirs here: plan items, referrals, reviews.
    PLAN_ITEM = "plan_item"
    REFERRAL = "referral"
    REVIEW = "review"

    @property
    def label(self) -> str:
        return DECISION_LABELS[self]


DECISION_LABELS: Final = {
    DecisionKind.DETERMINATION: "Determination recorded",
    DecisionKind.LEVEL_CHANGE: "Level of concern changed (new determination)",
    DecisionKind.CLOSURE: "Case closed",
    DecisionKind.PLAN_ITEM: "Plan item added",
    DecisionKind.REFERRAL: "Referral made",
    DecisionKind.REVIEW: "Review recorded",
}
