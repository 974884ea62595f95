"""The closed vocabularies of a management plan: interventions, aims, statuses, log kinds."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Intervention(StrEnum):
    """The catalog of interventions (DOMAIN.md "Management plan"), plus "other"."""

    SUPERVISION = "supervision"
    SCHEDULE_CHANGE = "schedule_change"
    SEARCH_PROTOCOL = "search_protocol"
    NO_CONTACT = "no_contact"
    PARENT_CONFERENCE = "parent_conference"
    SCHOOL_COUNSELING = "school_counseling"
    MENTAL_HEALTH_REFERRAL = "mental_health_referral"
    SUICIDE_SCREENING = "suicide_screening"
    TARGET_SAFETY_PLAN = "target_safety_plan"
    LAW_ENFORCEMENT_REFERRAL = "law_enforcement_referral"
    DISCIPLINE_REFERRAL = "discipline_referral"
    SPECIAL_EDUCATION_REVIEW = "special_education_review"
    ALTERNATIVE_PLACEMENT = "alternative_placement"
    REENTRY_MEETING = "reentry_meeting"
    MENTORING = "mentoring"
    OTHER = "other"

    @property
    def label(self) -> str:
        return INTERVENTION_LABELS[self]


INTERVENTION_LABELS: Final = {
    Intervention.SUPERVISION: "Supervision / check-in",
    Intervention.SCHEDULE_CHANGE: "Schedule change",
    Intervention.SEARCH_PROTOCOL: "Search protocol",
    Intervention.NO_CONTACT: "No-contact agreement",
    Intervention.PARENT_CONFERENCE: "Parent conference",
    Intervention.SCHOOL_COUNSELING: "School counseling",
    Intervention.MENTAL_HEALTH_REFERRAL: "Community mental-health referral",
    Intervention.SUICIDE_SCREENING: "Suicide risk screening",
    Intervention.TARGET_SAFETY_PLAN: "Safety plan for a target",
    Intervention.LAW_ENFORCEMENT_REFERRAL: "Law-enforcement referral",
    Intervention.DISCIPLINE_REFERRAL: "Discipline referral",
    Intervention.SPECIAL_EDUCATION_REVIEW: "Special-education / 504 team review",
    Intervention.ALTERNATIVE_PLACEMENT: "Alternative placement",
    Intervention.REENTRY_MEETING: "Re-entry meeting",
    Intervention.MENTORING: "Mentoring",
    Intervention.OTHER: "Other",
}

# Interventions that remove a student from the classroom or school for discipline: for a
# student with an IEP or a 504 plan they wait for the special-education / 504 team's review.
DISCIPLINARY_REMOVALS: Final = frozenset(
    {Intervention.DISCIPLINE_REFERRAL, Intervention.ALTERNATIVE_PLACEMENT}
)


class Aim(StrEnum):
    """Whom an intervention is for: the subject, a named target, or the environment."""

    SUBJECT = "subject"
    TARGET = "target"
    ENVIRONMENT = "environment"

    @property
    def label(self) -> str:
        return {
            Aim.SUBJECT: "The subject",
            Aim.TARGET: "A target (a plan to protect)",
            Aim.ENVIRONMENT: "The environment",
        }[self]


class ItemStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    MISSED = "missed"
    DISCONTINUED = "discontinued"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


# An item in one of these is finished: the plan no longer waits for it.
FINISHED: Final = frozenset({ItemStatus.DONE, ItemStatus.DISCONTINUED})


class LogKind(StrEnum):
    """The kind of a session or contact in the counselors' intervention log."""

    INDIVIDUAL = "individual"
    GROUP = "group"
    CHECK_IN = "check_in"
    PARENT_CONTACT = "parent_contact"
    CRISIS = "crisis"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class SupportPlan(StrEnum):
    """A student's plan under disability law, recorded encrypted on the person."""

    NONE = "none"
    IEP = "iep"
    SECTION_504 = "504"

    @property
    def label(self) -> str:
        return {
            SupportPlan.NONE: "None",
            SupportPlan.IEP: "IEP",
            SupportPlan.SECTION_504: "504 plan",
        }[self]


# Days to the next review by level of concern, unless the district sets its own.
DEFAULT_CADENCE: Final = {"imminent": 1, "high": 7, "moderate": 14, "medium": 14, "low": 30}
