"""Read one assessment model file: TOML in, a validated ``AssessmentModel`` out, or ``ModelError``.

A file is refused, with one line naming the file and the key path (``questions[3].key``, indexes
from 0), when:

- it is not TOML, a key is unknown or missing, or a value has the wrong type;
- any key anywhere names a score, a weight, points or a rating (the product never scores
  threats);
- ``id`` is not a lowercase slug, ``version`` not a positive whole number, or the file is not
  named ``<id>-v<version>.toml``;
- a text is empty, longer than its limit, or holds a line break or another control character;
- ``answers`` is not exactly yes / no / unknown, each with a label;
- themes or questions are empty, their keys are not unique identifiers, a question names an
  undeclared theme, a theme has no question, or no question is a protective factor;
- a classification is outside the closed set or repeated, ``not_a_threat`` is absent,
  ``closes_case`` is set on anything but ``not_a_threat``, or ``substantive`` disagrees with
  the key;
- levels are empty, repeat a key, or a review cadence is outside 1..365 days or longer than
  that of a less severe level;
- the quorum names no discipline, one outside the closed set or one twice, lacks a label for
  a discipline it requires, or labels one it does not;
- an interviewee kind has no guide (or an empty one), or a guide repeats a question.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from btam.assessment.definitions import (
    ANSWER_KEYS,
    CLASSIFICATION_KEYS,
    CLOSING_CLASSIFICATION,
    DISCIPLINE_KEYS,
    INTERVIEWEE_KINDS,
    AnswerOption,
    AssessmentModel,
    Classification,
    Level,
    ModelError,
    Question,
    Quorum,
    Theme,
)

SLUG = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
# TOML's bare keys; any other key is shown quoted so that a message stays on one line.
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
KEY_MAX = 40
LABEL_MAX = 80
TEXT_MAX = 300
LONG_TEXT_MAX = 1000
CADENCE_MAX_DAYS = 365

# Words that would turn a model into a scoring instrument; refused wherever they appear as a key.
SCORE_WORDS = frozenset(
    {"score", "scores", "scoring", "scored", "weight", "weights", "weighted", "weighting"}
    | {"point", "points", "rating", "ratings"}
)
# Splits snake_case, kebab-case, camelCase and SHOUTING keys into words.
KEY_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
NO_SCORE = "a model holds no score, weight or points: the product never scores threats"

TOP_LEVEL = (
    "id",
    "version",
    "name",
    "description",
    "answers",
    "themes",
    "questions",
    "classifications",
    "levels",
    "quorum",
    "interview_guides",
)


def parse_model_file(path: Path) -> AssessmentModel:
    """Read and validate one model file.

    :raises ModelError: when the file cannot be read, is not TOML or breaks a rule above.
    """
    file = path.name if path.name.isprintable() else _quoted(path.name)
    try:
        with path.open("rb") as fh:
            document = tomllib.load(fh)
    except OSError as exc:
        raise ModelError(file, "", f"cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(file, "", f"not valid TOML ({exc})") from None
    return _Reader(file).model(document)


def _at(where: str, key: object) -> str:
    shown = key if isinstance(key, str) and BARE_KEY.fullmatch(key) else _quoted(key)
    return f"{where}.{shown}" if where else shown


def _quoted(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    shown = text if len(text) <= 40 else text[:37] + "..."
    return '"' + shown.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, where: str, reason: str) -> NoReturn:
        raise ModelError(self.file, where, reason)

    # --- shapes -------------------------------------------------------------------------

    def table(
        self,
        value: object,
        where: str,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
        hint: str = "",
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, "must be a table")
        for key in value:
            if key not in required and key not in optional:
                self.fail(_at(where, key), f"unknown key: {hint}" if hint else "unknown key")
        for key in required:
            if key not in value:
                self.fail(_at(where, key), "missing")
        return value

    def array(self, value: object, where: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(where, "must be an array")
        if not value:
            self.fail(where, "must not be empty")
        return value

    def text(self, value: object, where: str, limit: int) -> str:
        if not isinstance(value, str):
            self.fail(where, "must be a string")
        if not value.strip():
            self.fail(where, "must not be empty")
        if len(value) > limit:
            self.fail(where, f"longer than {limit} characters")
        if any(unicodedata.category(char).startswith("C") for char in value):
            self.fail(where, "must be one line without control characters")
        return value

    def description(self, row: dict[str, Any], where: str) -> str:
        return self.text(row["description"], _at(where, "description"), LONG_TEXT_MAX)

    def key(self, value: object, where: str, pattern: re.Pattern[str], kind: str) -> str:
        if not isinstance(value, str):
            self.fail(where, "must be a string")
        if len(value) > KEY_MAX or not pattern.fullmatch(value):
            self.fail(where, f"{_quoted(value)} is not {kind}")
        return value

    def boolean(self, value: object, where: str) -> bool:
        if not isinstance(value, bool):
            self.fail(where, "must be true or false")
        return value

    def whole(self, value: object, where: str, low: int, high: int | None = None) -> int:
        # TOML booleans are Python ints: refuse them explicitly.
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, "must be a whole number")
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            self.fail(where, f"must be {bound}")
        return value

    def unique(self, value: str, seen: set[str], where: str) -> str:
        if value in seen:
            self.fail(where, f"duplicate key {_quoted(value)}")
        seen.add(value)
        return value

    def no_scores(self, value: object, where: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                words = {word.lower() for word in KEY_WORDS.findall(key)}
                if words & SCORE_WORDS:
                    self.fail(_at(where, key), NO_SCORE)
                self.no_scores(inner, _at(where, key))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                self.no_scores(inner, f"{where}[{index}]")

    # --- the model ----------------------------------------------------------------------

    def model(self, document: dict[str, Any]) -> AssessmentModel:
        self.no_scores(document, "")
        doc = self.table(document, "", TOP_LEVEL)
        model_id = self.key(doc["id"], "id", SLUG, "a lowercase slug")
        version = self.whole(doc["version"], "version", 1)
        expected = f"{model_id}-v{version}.toml"
        if self.file != expected:
            self.fail("", f"must be named {expected} (from its id and version)")
        themes = self.themes(doc["themes"])
        return AssessmentModel(
            id=model_id,
            version=version,
            name=self.text(doc["name"], "name", LABEL_MAX),
            description=self.description(doc, ""),
            answers=self.answers(doc["answers"]),
            themes=themes,
            questions=self.questions(doc["questions"], themes),
            classifications=self.classifications(doc["classifications"]),
            levels=self.levels(doc["levels"]),
            quorum=self.quorum(doc["quorum"]),
            interview_guides=self.interview_guides(doc["interview_guides"]),
        )

    def answers(self, value: object) -> tuple[AnswerOption, ...]:
        hint = "the answers are yes, no and unknown"
        table = self.table(value, "answers", ANSWER_KEYS, hint=hint)
        return tuple(
            AnswerOption(key, self.text(table[key], f"answers.{key}", LABEL_MAX))
            for key in ANSWER_KEYS
        )

    def themes(self, value: object) -> tuple[Theme, ...]:
        seen: set[str] = set()
        themes = []
        for index, item in enumerate(self.array(value, "themes")):
            where = f"themes[{index}]"
            row = self.table(item, where, ("key", "label"))
            key = self.key(row["key"], f"{where}.key", IDENTIFIER, "a lowercase identifier")
            self.unique(key, seen, f"{where}.key")
            themes.append(Theme(key, self.text(row["label"], f"{where}.label", LABEL_MAX)))
        return tuple(themes)

    def questions(self, value: object, themes: tuple[Theme, ...]) -> tuple[Question, ...]:
        theme_keys = {theme.key for theme in themes}
        seen: set[str] = set()
        questions = []
        for index, item in enumerate(self.array(value, "questions")):
            where = f"questions[{index}]"
            row = self.table(item, where, ("key", "theme", "text", "guidance"), ("protective",))
            key = self.key(row["key"], f"{where}.key", IDENTIFIER, "a lowercase identifier")
            self.unique(key, seen, f"{where}.key")
            theme = self.key(row["theme"], f"{where}.theme", IDENTIFIER, "a lowercase identifier")
            if theme not in theme_keys:
                self.fail(f"{where}.theme", f"{_quoted(theme)} is not a declared theme")
            questions.append(
                Question(
                    key=key,
                    theme=theme,
                    text=self.text(row["text"], f"{where}.text", TEXT_MAX),
                    guidance=self.text(row["guidance"], f"{where}.guidance", LONG_TEXT_MAX),
                    protective=self.boolean(row.get("protective", False), f"{where}.protective"),
                )
            )
        used = {question.theme for question in questions}
        for index, declared in enumerate(themes):
            if declared.key not in used:
                self.fail(f"themes[{index}].key", f"no question has theme {_quoted(declared.key)}")
        if not any(question.protective for question in questions):
            self.fail("questions", "at least one question must be a protective factor")
        return tuple(questions)

    def classifications(self, value: object) -> tuple[Classification, ...]:
        seen: set[str] = set()
        found = []
        fields = ("key", "label", "description", "substantive", "closes_case")
        for index, item in enumerate(self.array(value, "classifications")):
            where = f"classifications[{index}]"
            row = self.table(item, where, fields)
            key = row["key"]
            if key not in CLASSIFICATION_KEYS:
                allowed = ", ".join(CLASSIFICATION_KEYS)
                self.fail(f"{where}.key", f"{_quoted(key)} is not one of {allowed}")
            self.unique(key, seen, f"{where}.key")
            substantive = self.boolean(row["substantive"], f"{where}.substantive")
            if substantive != key.startswith("substantive_"):
                self.fail(f"{where}.substantive", f"must be {str(not substantive).lower()}")
            closes_case = self.boolean(row["closes_case"], f"{where}.closes_case")
            if closes_case and key != CLOSING_CLASSIFICATION:
                self.fail(f"{where}.closes_case", f"only {CLOSING_CLASSIFICATION} closes a case")
            if not closes_case and key == CLOSING_CLASSIFICATION:
                self.fail(f"{where}.closes_case", "must be true: this class closes the case")
            found.append(
                Classification(
                    key=key,
                    label=self.text(row["label"], f"{where}.label", LABEL_MAX),
                    description=self.description(row, where),
                    substantive=substantive,
                    closes_case=closes_case,
                )
            )
        if CLOSING_CLASSIFICATION not in seen:
            self.fail("classifications", f"{CLOSING_CLASSIFICATION} is missing")
        return tuple(found)

    def levels(self, value: object) -> tuple[Level, ...]:
        seen: set[str] = set()
        levels: list[Level] = []
        fields = ("key", "label", "description", "review_every_days")
        for index, item in enumerate(self.array(value, "levels")):
            where = f"levels[{index}]"
            row = self.table(item, where, fields)
            key = self.key(row["key"], f"{where}.key", IDENTIFIER, "a lowercase identifier")
            self.unique(key, seen, f"{where}.key")
            cadence = f"{where}.review_every_days"
            days = self.whole(row["review_every_days"], cadence, 1, CADENCE_MAX_DAYS)
            # Levels run from least to most severe: a graver level is never reviewed less often.
            if levels and days > levels[-1].review_every_days:
                self.fail(
                    cadence,
                    f"longer than the {levels[-1].review_every_days} days of a less severe level",
                )
            levels.append(
                Level(
                    key=key,
                    label=self.text(row["label"], f"{where}.label", LABEL_MAX),
                    description=self.description(row, where),
                    review_every_days=days,
                )
            )
        return tuple(levels)

    def quorum(self, value: object) -> Quorum:
        knows = "someone_who_knows_the_subject"
        knows_label = f"{knows}_label"
        row = self.table(value, "quorum", ("disciplines", "labels", knows), (knows_label,))
        seen: set[str] = set()
        for index, key in enumerate(self.array(row["disciplines"], "quorum.disciplines")):
            where = f"quorum.disciplines[{index}]"
            if key not in DISCIPLINE_KEYS:
                self.fail(where, f"{_quoted(key)} is not one of {', '.join(DISCIPLINE_KEYS)}")
            self.unique(key, seen, where)
        disciplines = tuple(row["disciplines"])
        hint = "label only the disciplines the quorum requires"
        table = self.table(row["labels"], "quorum.labels", disciplines, hint=hint)
        labels = {key: self.text(table[key], f"quorum.labels.{key}", LABEL_MAX) for key in table}
        required = self.boolean(row[knows], f"quorum.{knows}")
        label = ""
        if required:
            if knows_label not in row:
                self.fail(f"quorum.{knows_label}", "missing")
            label = self.text(row[knows_label], f"quorum.{knows_label}", LABEL_MAX)
        elif knows_label in row:
            self.fail(f"quorum.{knows_label}", f"unused while {knows} is false")
        return Quorum(disciplines, MappingProxyType(labels), required, label)

    def interview_guides(self, value: object) -> MappingProxyType[str, tuple[str, ...]]:
        hint = f"the kinds are {', '.join(INTERVIEWEE_KINDS)}"
        table = self.table(value, "interview_guides", INTERVIEWEE_KINDS, hint=hint)
        guides: dict[str, tuple[str, ...]] = {}
        for kind in INTERVIEWEE_KINDS:
            where = f"interview_guides.{kind}"
            seen: set[str] = set()
            texts = []
            for index, item in enumerate(self.array(table[kind], where)):
                text = self.text(item, f"{where}[{index}]", TEXT_MAX)
                if text in seen:
                    self.fail(f"{where}[{index}]", "repeats an earlier question")
                seen.add(text)
                texts.append(text)
            guides[kind] = tuple(texts)
        return MappingProxyType(guides)
