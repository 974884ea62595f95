"""What an assessment model holds, as frozen typed records, and the closed sets it draws from.

A model is data shipped as a TOML file (see ``validation.py`` for the rules a file must meet);
these records are what the rest of the application reads. None of them carries a number that
could be read as a threat score: people decide, with reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

# The answer a team gives to a question, from the facts it has.
ANSWER_KEYS = ("yes", "no", "unknown")

# CSTAG-style classes; the application's rules (closing, superintendent report, parent notice)
# hang on these keys, so a model may relabel them but never invent new ones.
CLASSIFICATION_KEYS = (
    "not_a_threat",
    "transient",
    "substantive_serious",
    "substantive_very_serious",
)
CLOSING_CLASSIFICATION = "not_a_threat"

# Team members' disciplines a quorum may require (the app's ``Discipline`` enum ties to these).
DISCIPLINE_KEYS = ("administrator", "mental_health", "law_enforcement", "instruction", "other")

# Whom an interview guide is written for.
INTERVIEWEE_KINDS = ("subject", "target", "witness", "parent", "teacher")

DEFAULT_MODEL_ID = "default"


class ModelError(Exception):
    """A model file cannot be used; the message is one line naming the file and the key."""

    def __init__(self, file: str, where: str, reason: str) -> None:
        self.file = file
        self.where = where
        self.reason = reason
        location = f"{file}: {where}" if where else file
        super().__init__(f"{location}: {reason}")


class UnknownModel(LookupError):
    """No model with this id (and version) is in the catalog."""


@dataclass(frozen=True)
class AnswerOption:
    key: str
    label: str


@dataclass(frozen=True)
class Theme:
    key: str
    label: str


@dataclass(frozen=True)
class Question:
    key: str
    theme: str
    text: str
    guidance: str
    # A protective factor: "yes" speaks for the person, not against them.
    protective: bool = False


@dataclass(frozen=True)
class Classification:
    key: str
    label: str
    description: str
    substantive: bool
    closes_case: bool


@dataclass(frozen=True)
class Level:
    key: str
    label: str
    description: str
    review_every_days: int


@dataclass(frozen=True)
class Quorum:
    disciplines: tuple[str, ...]
    # One human label per required discipline, for a refusal that names what is missing.
    labels: Mapping[str, str] = field(hash=False)
    someone_who_knows_the_subject: bool = False
    someone_who_knows_the_subject_label: str = ""

    def missing(self, present: set[str], knows_subject: bool) -> list[str]:
        """Labels of the required disciplines (and acquaintance) that the participants lack."""
        missing = [self.labels[key] for key in self.disciplines if key not in present]
        if self.someone_who_knows_the_subject and not knows_subject:
            missing.append(self.someone_who_knows_the_subject_label)
        return missing


@dataclass(frozen=True)
class AssessmentModel:
    id: str
    version: int
    name: str
    description: str
    answers: tuple[AnswerOption, ...]
    themes: tuple[Theme, ...]
    questions: tuple[Question, ...]
    classifications: tuple[Classification, ...]
    levels: tuple[Level, ...]
    quorum: Quorum
    interview_guides: Mapping[str, tuple[str, ...]] = field(hash=False)

    @property
    def ref(self) -> str:
        """The id and version together, as a determination records them (``default-v1``)."""
        return f"{self.id}-v{self.version}"

    def answer(self, key: str) -> AnswerOption:
        """:raises KeyError: when the model has no such answer option."""
        return _find(self.answers, key, "answer option", self.ref)

    def theme(self, key: str) -> Theme:
        """:raises KeyError: when the model has no such theme."""
        return _find(self.themes, key, "theme", self.ref)

    def question(self, key: str) -> Question:
        """:raises KeyError: when the model has no such question."""
        return _find(self.questions, key, "question", self.ref)

    def classification(self, key: str) -> Classification:
        """:raises KeyError: when the model has no such classification."""
        return _find(self.classifications, key, "classification", self.ref)

    def level(self, key: str) -> Level:
        """:raises KeyError: when the model has no such level."""
        return _find(self.levels, key, "level", self.ref)

    def interview_guide(self, kind: str) -> tuple[str, ...]:
        """:raises KeyError: when ``kind`` is not one of ``INTERVIEWEE_KINDS``."""
        if kind not in self.interview_guides:
            raise KeyError(f"{self.ref} has no interview guide for {kind!r}")
        return self.interview_guides[kind]

    def missing_disciplines(self, present: set[str], knows_subject: bool) -> list[str]:
        """Labels of what the participants lack to meet this model's quorum; empty when met."""
        return self.quorum.missing(present, knows_subject)


class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


_T = TypeVar("_T", bound=_Keyed)


def _find(items: tuple[_T, ...], key: str, what: str, ref: str) -> _T:
    for item in items:
        if item.key == key:
            return item
    raise KeyError(f"{ref} has no {what} {key!r}")
