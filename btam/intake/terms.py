"""The closed vocabularies of intake: channels, tip categories, triage outcomes."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How a report reached the team."""

    STAFF = "staff"
    STUDENT = "student"
    PARENT = "parent"
    ANONYMOUS_TIP = "anonymous_tip"
    SCHOOL_RESOURCE_OFFICER = "school_resource_officer"
    LAW_ENFORCEMENT = "law_enforcement"
    SOCIAL_MEDIA = "social_media"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]


CHANNEL_LABELS = {
    Channel.STAFF: "Staff member",
    Channel.STUDENT: "Student",
    Channel.PARENT: "Parent or guardian",
    Channel.ANONYMOUS_TIP: "Anonymous tip",
    Channel.SCHOOL_RESOURCE_OFFICER: "School resource officer",
    Channel.LAW_ENFORCEMENT: "Law enforcement",
    Channel.SOCIAL_MEDIA: "Social-media alert",
    Channel.OTHER: "Other",
}


class TipCategory(StrEnum):
    VIOLENCE = "violence"
    WEAPON = "weapon"
    BULLYING = "bullying"
    SELF_HARM = "self_harm"
    DRUGS = "drugs"
    SEXUAL_ABUSE = "sexual_abuse"
    OTHER = "other"

    @property
    def label(self) -> str:
        return TIP_CATEGORY_LABELS[self]


TIP_CATEGORY_LABELS = {
    TipCategory.VIOLENCE: "Violence or a threat",
    TipCategory.WEAPON: "A weapon",
    TipCategory.BULLYING: "Bullying or harassment",
    TipCategory.SELF_HARM: "Self-harm or suicide",
    TipCategory.DRUGS: "Drugs or alcohol",
    TipCategory.SEXUAL_ABUSE: "Sexual abuse",
    TipCategory.OTHER: "Something else",
}


class ReportStatus(StrEnum):
    RECEIVED = "received"
    TRIAGED = "triaged"

    @property
    def label(self) -> str:
        return "Waiting for triage" if self is ReportStatus.RECEIVED else "Triaged"


class TriageOutcome(StrEnum):
    OPENED_CASE = "opened_case"
    ADDED_TO_CASE = "added_to_case"
    SUICIDE_PROTOCOL = "suicide_protocol"
    NO_THREAT = "no_threat"

    @property
    def label(self) -> str:
        return TRIAGE_OUTCOME_LABELS[self]


TRIAGE_OUTCOME_LABELS = {
    TriageOutcome.OPENED_CASE: "Opened a case",
    TriageOutcome.ADDED_TO_CASE: "Added to an existing case",
    TriageOutcome.SUICIDE_PROTOCOL: "Referred to the suicide-risk protocol",
    TriageOutcome.NO_THREAT: "No threat",
}


class NoThreatAction(StrEnum):
    """What was done about a report the team found to be no threat."""

    DISCIPLINE = "discipline"
    COUNSELOR = "counselor"
    INFORMATION_ONLY = "information_only"

    @property
    def label(self) -> str:
        return NO_THREAT_ACTION_LABELS[self]


NO_THREAT_ACTION_LABELS = {
    NoThreatAction.DISCIPLINE: "Handled by discipline",
    NoThreatAction.COUNSELOR: "Referred to a counselor",
    NoThreatAction.INFORMATION_ONLY: "Information only",
}


class ImmediateAction(StrEnum):
    """What was done at once about an imminent danger."""

    CALLED_911 = "called_911"
    LOCKDOWN = "lockdown"
    OFFICER_NOTIFIED = "officer_notified"
    PARENTS_NOTIFIED = "parents_notified"

    @property
    def label(self) -> str:
        return IMMEDIATE_ACTION_LABELS[self]


IMMEDIATE_ACTION_LABELS = {
    ImmediateAction.CALLED_911: "911 called",
    ImmediateAction.LOCKDOWN: "Lockdown protocol followed",
    ImmediateAction.OFFICER_NOTIFIED: "School resource officer or police notified",
    ImmediateAction.PARENTS_NOTIFIED: "Parents notified",
}
