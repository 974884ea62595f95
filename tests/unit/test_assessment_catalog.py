"""Assessment models as data: the shipped models, and every rule that refuses a broken file.

Each refusal test writes a copy of a shipped model with one thing broken to a temporary
directory and loads it as the application does at start: the load must stop with one line that
names the file and the key.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from btam.assessment.catalog import (
    CLASSIFICATION_KEYS,
    DISCIPLINE_KEYS,
    INTERVIEWEE_KINDS,
    MODELS_DIR,
    Catalog,
    ModelError,
    UnknownModel,
    load_catalog,
)
from btam.assessment.validation import SCORE_WORDS, parse_model_file

Doc = dict[str, Any]
SHIPPED = sorted(MODELS_DIR.glob("*.toml"))


def _read(name: str) -> Doc:
    with (MODELS_DIR / name).open("rb") as fh:
        return tomllib.load(fh)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string for everything these tests write.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(type(value))


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _dump(table: Doc, prefix: str = "") -> list[str]:
    def is_tables(value: Any) -> bool:
        return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)

    lines = [
        f"{_key(k)} = {_value(v)}"
        for k, v in table.items()
        if not isinstance(v, dict) and not is_tables(v)
    ]
    for k, v in table.items():
        name = f"{prefix}{_key(k)}"
        if isinstance(v, dict):
            lines += ["", f"[{name}]", *_dump(v, f"{name}.")]
        elif is_tables(v):
            for item in v:
                lines += ["", f"[[{name}]]", *_dump(item, f"{name}.")]
    return lines


def write_model(directory: Path, doc: Doc, name: str | None = None) -> Path:
    path = directory / (name or f"{doc['id']}-v{doc['version']}.toml")
    path.write_text("\n".join(_dump(doc)) + "\n", encoding="utf-8")
    return path


def refusal(directory: Path) -> str:
    with pytest.raises(ModelError) as refused:
        load_catalog(directory)
    message = str(refused.value)
    assert "\n" not in message and "\r" not in message
    return message


@pytest.fixture
def default_doc() -> Doc:
    return _read("default-v1.toml")


@pytest.fixture
def florida_doc() -> Doc:
    return _read("florida-v1.toml")


# --- the shipped models -------------------------------------------------------------------


def test_both_shipped_models_load_in_order() -> None:
    catalog = load_catalog()
    assert [model.ref for model in catalog.models] == ["default-v1", "florida-v1"]
    assert [model.ref for model in catalog.choices()] == ["default-v1", "florida-v1"]


def test_the_default_model_asks_the_eleven_themes_plus_protective_factors() -> None:
    model = load_catalog().latest("default")
    assert [theme.key for theme in model.themes] == [
        "motives",
        "communications",
        "inappropriate_interest",
        "attack_behaviour",
        "capacity",
        "desperation",
        "trusted_adult",
        "violence_acceptable",
        "consistency",
        "concerned_others",
        "circumstances",
        "protective_factors",
    ]
    assert {question.theme for question in model.questions} == {t.key for t in model.themes}
    protective = {question.key for question in model.questions if question.protective}
    assert {"trusted_adult", "school_engagement", "home_support", "help_seeking"} <= protective
    assert model.question("weapons_access").theme == "capacity"
    assert all(question.guidance for question in model.questions)


def test_the_default_model_has_cstag_classes_and_four_levels() -> None:
    model = load_catalog().get("default", 1)
    assert [c.key for c in model.classifications] == list(CLASSIFICATION_KEYS)
    assert [c.key for c in model.classifications if c.closes_case] == ["not_a_threat"]
    assert [c.key for c in model.classifications if c.substantive] == [
        "substantive_serious",
        "substantive_very_serious",
    ]
    cadence = {level.key: level.review_every_days for level in model.levels}
    assert cadence == {"low": 30, "moderate": 14, "high": 7, "imminent": 1}
    assert model.level("imminent").label == "Imminent"
    assert model.quorum.disciplines == ("administrator", "mental_health", "law_enforcement")
    assert not model.quorum.someone_who_knows_the_subject
    assert [answer.key for answer in model.answers] == ["yes", "no", "unknown"]


def test_the_florida_model_has_three_levels_and_its_own_team() -> None:
    model = load_catalog().latest("florida")
    cadence = {level.key: level.review_every_days for level in model.levels}
    assert cadence == {"low": 30, "medium": 14, "high": 7}
    assert [c.key for c in model.classifications] == list(CLASSIFICATION_KEYS)
    assert set(model.quorum.disciplines) == {
        "mental_health",
        "instruction",
        "law_enforcement",
        "administrator",
    }
    assert model.quorum.someone_who_knows_the_subject
    default = load_catalog().latest("default")
    assert {t.key for t in model.themes} == {t.key for t in default.themes}
    assert model.question("motives").text != default.question("motives").text


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_model_has_a_guide_of_five_to_ten_questions_per_interviewee(
    path: Path,
) -> None:
    model = parse_model_file(path)
    for kind in INTERVIEWEE_KINDS:
        assert 5 <= len(model.interview_guide(kind)) <= 10, kind


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_no_shipped_model_holds_a_number_but_its_version_and_review_cadences(path: Path) -> None:
    numbers: list[str] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                assert not set(re.split(r"[^a-z]+", key.lower())) & SCORE_WORDS, where + key
                walk(inner, f"{where}{key}.")
        elif isinstance(value, list):
            for inner in value:
                walk(inner, where)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            numbers.append(where.rstrip("."))

    with path.open("rb") as fh:
        walk(tomllib.load(fh), "")
    assert set(numbers) == {"version", "levels.review_every_days"}


# --- quorum -------------------------------------------------------------------------------


def test_default_quorum_names_the_missing_law_enforcement_member() -> None:
    model = load_catalog().latest("default")
    assert model.missing_disciplines({"administrator", "mental_health"}, False) == [
        "Law enforcement"
    ]
    assert model.missing_disciplines(set(), False) == [
        "Administrator",
        "Mental health",
        "Law enforcement",
    ]


def test_default_quorum_is_met_by_its_three_disciplines_without_an_acquaintance() -> None:
    model = load_catalog().latest("default")
    assert (
        model.missing_disciplines({"administrator", "mental_health", "law_enforcement"}, False)
        == []
    )
    assert model.missing_disciplines(set(DISCIPLINE_KEYS), False) == []


def test_florida_quorum_names_someone_who_knows_the_student_when_absent() -> None:
    model = load_catalog().latest("florida")
    team = {"administrator", "mental_health", "law_enforcement", "instruction"}
    assert model.missing_disciplines(team, False) == ["Someone who knows the student"]
    assert model.missing_disciplines(team, True) == []


def test_florida_quorum_names_instruction_and_the_acquaintance() -> None:
    model = load_catalog().latest("florida")
    present = {"administrator", "mental_health", "law_enforcement"}
    assert model.missing_disciplines(present, False) == [
        "Instruction",
        "Someone who knows the student",
    ]


# --- the catalog --------------------------------------------------------------------------


def test_the_catalog_is_sorted_by_id_and_version_whatever_the_files_order(
    tmp_path: Path, default_doc: Doc, florida_doc: Doc
) -> None:
    second = copy.deepcopy(default_doc)
    second["version"] = 2
    alpha = copy.deepcopy(florida_doc)
    alpha["id"] = "alpha"
    for doc in (second, florida_doc, alpha, default_doc):
        write_model(tmp_path, doc)
    catalog = load_catalog(tmp_path)
    refs = [model.ref for model in catalog.models]
    assert refs == ["alpha-v1", "default-v1", "default-v2", "florida-v1"]
    assert [model.ref for model in catalog.choices()] == ["alpha-v1", "default-v2", "florida-v1"]
    assert catalog.latest("default").version == 2
    assert catalog.get("default", 1).version == 1
    assert [m.ref for m in load_catalog(tmp_path).models] == refs


def test_an_unknown_model_or_version_is_refused() -> None:
    catalog = load_catalog()
    with pytest.raises(UnknownModel):
        catalog.get("default", 99)
    with pytest.raises(UnknownModel):
        catalog.get("nowhere", 1)
    with pytest.raises(UnknownModel):
        catalog.latest("nowhere")


def test_an_unknown_key_inside_a_model_is_refused() -> None:
    model = load_catalog().latest("default")
    for lookup in (model.level, model.classification, model.question, model.theme):
        with pytest.raises(KeyError):
            lookup("nonexistent")
    with pytest.raises(KeyError):
        model.interview_guide("coach")


def test_a_loaded_model_cannot_be_changed() -> None:
    model = load_catalog().latest("default")
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.version = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        model.interview_guides["subject"] = ()  # type: ignore[index]
    with pytest.raises(TypeError):
        model.quorum.labels["administrator"] = "Anyone"  # type: ignore[index]


def test_one_id_and_version_defined_twice_is_refused() -> None:
    model = load_catalog().latest("default")
    with pytest.raises(ModelError) as refused:
        Catalog([model, model])
    assert (
        str(refused.value) == 'default-v1.toml: version: model "default" version 1 is defined twice'
    )


def test_an_empty_models_directory_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path) == f"{tmp_path.name}: no assessment model file (*.toml) found"


def test_a_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "default-v1.toml").write_text('id = "default"\nversion = \n', encoding="utf-8")
    assert refusal(tmp_path).startswith("default-v1.toml: not valid TOML (")


def test_a_file_not_named_after_its_id_and_version_is_refused(
    tmp_path: Path, default_doc: Doc
) -> None:
    write_model(tmp_path, default_doc, name="district.toml")
    assert refusal(tmp_path) == (
        "district.toml: must be named default-v1.toml (from its id and version)"
    )


def test_a_version_that_disagrees_with_the_file_name_is_refused(
    tmp_path: Path, default_doc: Doc
) -> None:
    default_doc["version"] = 2
    write_model(tmp_path, default_doc, name="default-v1.toml")
    assert refusal(tmp_path) == (
        "default-v1.toml: must be named default-v2.toml (from its id and version)"
    )


# --- one broken key at a time -------------------------------------------------------------

Mutation = Callable[[Doc], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(doc: Doc) -> None:
        *parents, last = re.findall(r"[^.\[\]]+", path)
        target: Any = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(doc: Doc) -> None:
        *parents, last = re.findall(r"[^.\[\]]+", path)
        target: Any = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[int(last) if last.isdigit() else last]

    return mutate


def _all_questions_not_protective(doc: Doc) -> None:
    for question in doc["questions"]:
        question.pop("protective", None)


def _drop_classification(key: str) -> Mutation:
    def mutate(doc: Doc) -> None:
        doc["classifications"] = [c for c in doc["classifications"] if c["key"] != key]

    return mutate


NO_SCORE = "a model holds no score, weight or points: the product never scores threats"
CLASSES = ", ".join(CLASSIFICATION_KEYS)
DISCIPLINES = ", ".join(DISCIPLINE_KEYS)

# (name, mutation, expected message after "default-v1.toml: ")
DEFAULT_BREAKS: list[tuple[str, Mutation, str]] = [
    # no numeric score, anywhere
    ("score_on_a_question", _set("questions[2].score", 3), f"questions[2].score: {NO_SCORE}"),
    ("weight_at_top", _set("weight", 1), f"weight: {NO_SCORE}"),
    ("points_on_a_level", _set("levels[1].points", 10), f"levels[1].points: {NO_SCORE}"),
    ("risk_score_camel", _set("quorum.riskScore", 1), f"quorum.riskScore: {NO_SCORE}"),
    ("rating_in_answers", _set("answers.rating", "x"), f"answers.rating: {NO_SCORE}"),
    # unknown and missing keys
    ("typo_in_a_key", _set("questions[1].guidence", "x"), "questions[1].guidence: unknown key"),
    ("unknown_top_key", _set("colour", "red"), "colour: unknown key"),
    (
        "unknown_key_shown_on_one_line",
        _set("levels[0].a\nb", "x"),
        'levels[0]."a\\nb": unknown key',
    ),
    ("missing_guidance", _delete("questions[1].guidance"), "questions[1].guidance: missing"),
    ("missing_name", _delete("name"), "name: missing"),
    # id and version
    ("id_uppercase", _set("id", "Default"), 'id: "Default" is not a lowercase slug'),
    ("id_underscore", _set("id", "my_model"), 'id: "my_model" is not a lowercase slug'),
    ("id_not_a_string", _set("id", 7), "id: must be a string"),
    ("version_zero", _set("version", 0), "version: must be at least 1"),
    ("version_negative", _set("version", -1), "version: must be at least 1"),
    ("version_text", _set("version", "1"), "version: must be a whole number"),
    ("version_bool", _set("version", True), "version: must be a whole number"),
    ("version_float", _set("version", 1.5), "version: must be a whole number"),
    # texts
    ("empty_name", _set("name", ""), "name: must not be empty"),
    ("blank_label", _set("levels[0].label", "   "), "levels[0].label: must not be empty"),
    ("long_name", _set("name", "n" * 81), "name: longer than 80 characters"),
    (
        "long_guidance",
        _set("questions[0].guidance", "g" * 1001),
        "questions[0].guidance: longer than 1000 characters",
    ),
    (
        "two_line_text",
        _set("questions[2].text", "One line\nand another"),
        "questions[2].text: must be one line without control characters",
    ),
    (
        "bidi_override",
        _set("classifications[0].label", "Not a \u202ethreat"),
        "classifications[0].label: must be one line without control characters",
    ),
    (
        "text_as_a_list",
        _set("questions[0].text", ["a", "b"]),
        "questions[0].text: must be a string",
    ),
    ("description_as_number", _set("description", 5), "description: must be a string"),
    # answers
    (
        "extra_answer",
        _set("answers.maybe", "Maybe"),
        "answers.maybe: unknown key: the answers are yes, no and unknown",
    ),
    ("missing_answer", _delete("answers.unknown"), "answers.unknown: missing"),
    ("empty_answer_label", _set("answers.yes", ""), "answers.yes: must not be empty"),
    ("answers_not_a_table", _set("answers", ["yes", "no"]), "answers: must be a table"),
    # themes and questions
    ("no_themes", _set("themes", []), "themes: must not be empty"),
    (
        "duplicate_theme",
        _set("themes[1].key", "motives"),
        'themes[1].key: duplicate key "motives"',
    ),
    ("no_questions", _set("questions", []), "questions: must not be empty"),
    (
        "duplicate_question",
        _set("questions[3].key", "communications"),
        'questions[3].key: duplicate key "communications"',
    ),
    (
        "question_key_not_a_slug",
        _set("questions[0].key", "Motives Now"),
        'questions[0].key: "Motives Now" is not a lowercase identifier',
    ),
    (
        "undeclared_theme",
        _set("questions[0].theme", "motivation"),
        'questions[0].theme: "motivation" is not a declared theme',
    ),
    (
        "theme_without_question",
        _set("questions[0].theme", "communications"),
        'themes[0].key: no question has theme "motives"',
    ),
    (
        "no_protective_factor",
        _all_questions_not_protective,
        "questions: at least one question must be a protective factor",
    ),
    (
        "protective_as_text",
        _set("questions[7].protective", "yes"),
        "questions[7].protective: must be true or false",
    ),
    # classifications
    (
        "unknown_class",
        _set("classifications[1].key", "maybe_threat"),
        f'classifications[1].key: "maybe_threat" is not one of {CLASSES}',
    ),
    (
        "repeated_class",
        _set("classifications[2].key", "transient"),
        'classifications[2].key: duplicate key "transient"',
    ),
    (
        "no_not_a_threat",
        _drop_classification("not_a_threat"),
        "classifications: not_a_threat is missing",
    ),
    (
        "transient_closes",
        _set("classifications[1].closes_case", True),
        "classifications[1].closes_case: only not_a_threat closes a case",
    ),
    (
        "not_a_threat_stays_open",
        _set("classifications[0].closes_case", False),
        "classifications[0].closes_case: must be true: this class closes the case",
    ),
    (
        "transient_called_substantive",
        _set("classifications[1].substantive", True),
        "classifications[1].substantive: must be false",
    ),
    (
        "very_serious_not_substantive",
        _set("classifications[3].substantive", False),
        "classifications[3].substantive: must be true",
    ),
    # levels
    ("no_levels", _set("levels", []), "levels: must not be empty"),
    ("levels_not_an_array", _set("levels", "low"), "levels: must be an array"),
    ("duplicate_level", _set("levels[1].key", "low"), 'levels[1].key: duplicate key "low"'),
    (
        "level_key_with_space",
        _set("levels[0].key", "very low"),
        'levels[0].key: "very low" is not a lowercase identifier',
    ),
    (
        "zero_cadence",
        _set("levels[0].review_every_days", 0),
        "levels[0].review_every_days: must be from 1 to 365",
    ),
    (
        "cadence_over_a_year",
        _set("levels[0].review_every_days", 400),
        "levels[0].review_every_days: must be from 1 to 365",
    ),
    (
        "graver_level_reviewed_less_often",
        _set("levels[2].review_every_days", 21),
        "levels[2].review_every_days: longer than the 14 days of a less severe level",
    ),
    # quorum
    ("no_disciplines", _set("quorum.disciplines", []), "quorum.disciplines: must not be empty"),
    (
        "unknown_discipline",
        _set("quorum.disciplines[2]", "police"),
        f'quorum.disciplines[2]: "police" is not one of {DISCIPLINES}',
    ),
    (
        "repeated_discipline",
        _set("quorum.disciplines[2]", "administrator"),
        'quorum.disciplines[2]: duplicate key "administrator"',
    ),
    (
        "missing_discipline_label",
        _delete("quorum.labels.law_enforcement"),
        "quorum.labels.law_enforcement: missing",
    ),
    (
        "label_for_a_discipline_not_required",
        _set("quorum.labels.instruction", "Instruction"),
        "quorum.labels.instruction: unknown key: label only the disciplines the quorum requires",
    ),
    (
        "acquaintance_without_label",
        _set("quorum.someone_who_knows_the_subject", True),
        "quorum.someone_who_knows_the_subject_label: missing",
    ),
    (
        "acquaintance_label_unused",
        _set("quorum.someone_who_knows_the_subject_label", "A friend"),
        "quorum.someone_who_knows_the_subject_label: unused while "
        "someone_who_knows_the_subject is false",
    ),
    # interview guides
    ("missing_guide", _delete("interview_guides.teacher"), "interview_guides.teacher: missing"),
    (
        "empty_guide",
        _set("interview_guides.witness", []),
        "interview_guides.witness: must not be empty",
    ),
    (
        "unknown_interviewee",
        _set("interview_guides.coach", ["Anything?"]),
        "interview_guides.coach: unknown key: the kinds are " + ", ".join(INTERVIEWEE_KINDS),
    ),
    (
        "repeated_guide_question",
        _set("interview_guides.parent[3]", "Which adults does your child trust and turn to?"),
        "interview_guides.parent[6]: repeats an earlier question",
    ),
    (
        "empty_guide_question",
        _set("interview_guides.subject[0]", ""),
        "interview_guides.subject[0]: must not be empty",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [pytest.param(mutate, expected, id=name) for name, mutate, expected in DEFAULT_BREAKS],
)
def test_a_broken_default_model_is_refused_naming_file_and_key(
    tmp_path: Path, default_doc: Doc, mutate: Mutation, expected: str
) -> None:
    mutate(default_doc)
    write_model(tmp_path, default_doc, name="default-v1.toml")
    assert refusal(tmp_path) == f"default-v1.toml: {expected}"


def test_a_broken_model_stops_the_whole_catalog(
    tmp_path: Path, default_doc: Doc, florida_doc: Doc
) -> None:
    write_model(tmp_path, default_doc)
    _set("quorum.labels.instruction", "")(florida_doc)
    write_model(tmp_path, florida_doc)
    assert refusal(tmp_path) == "florida-v1.toml: quorum.labels.instruction: must not be empty"


def test_a_florida_quorum_without_the_acquaintance_label_is_refused(
    tmp_path: Path, florida_doc: Doc
) -> None:
    del florida_doc["quorum"]["someone_who_knows_the_subject_label"]
    write_model(tmp_path, florida_doc)
    assert refusal(tmp_path) == (
        "florida-v1.toml: quorum.someone_who_knows_the_subject_label: missing"
    )


def test_the_writer_round_trips_both_shipped_models(tmp_path: Path) -> None:
    # Guards the tests above: an unchanged copy must load, so each refusal comes from its break.
    for path in SHIPPED:
        with path.open("rb") as fh:
            write_model(tmp_path, tomllib.load(fh))
    assert load_catalog(tmp_path).models == load_catalog().models
