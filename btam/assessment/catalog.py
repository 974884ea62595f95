"""The assessment models a district can choose from, loaded from versioned data files.

Each ``btam/assessment/models/<id>-v<version>.toml`` holds one version of one model. A new
version is a new file: a case keeps the version it started with, so a published file is never
edited. The catalog is loaded (and every file validated) once, at start; a malformed file stops
the start with one line naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path

from btam.assessment.definitions import (
    ANSWER_KEYS,
    CLASSIFICATION_KEYS,
    CLOSING_CLASSIFICATION,
    DEFAULT_MODEL_ID,
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
    UnknownModel,
)
from btam.assessment.validation import parse_model_file

__all__ = [
    "ANSWER_KEYS",
    "CLASSIFICATION_KEYS",
    "CLOSING_CLASSIFICATION",
    "DEFAULT_MODEL_ID",
    "DISCIPLINE_KEYS",
    "INTERVIEWEE_KINDS",
    "MODELS_DIR",
    "AnswerOption",
    "AssessmentModel",
    "Catalog",
    "Classification",
    "Level",
    "ModelError",
    "Question",
    "Quorum",
    "Theme",
    "UnknownModel",
    "load_catalog",
]

MODELS_DIR = Path(__file__).resolve().parent / "models"


class Catalog:
    """Every version of every model, sorted by id then version."""

    __slots__ = ("_models",)

    def __init__(self, models: Iterable[AssessmentModel]) -> None:
        """Hold ``models``, refusing an id and version given twice.

        :raises ModelError: when two models share an id and a version.
        """
        ordered = tuple(sorted(models, key=lambda model: (model.id, model.version)))
        for earlier, later in pairwise(ordered):
            if (earlier.id, earlier.version) == (later.id, later.version):
                raise ModelError(
                    f"{later.ref}.toml",
                    "version",
                    f'model "{later.id}" version {later.version} is defined twice',
                )
        self._models = ordered

    @property
    def models(self) -> tuple[AssessmentModel, ...]:
        return self._models

    def get(self, model_id: str, version: int) -> AssessmentModel:
        """The given version of a model, as a case that started with it needs it.

        :raises UnknownModel: when the catalog has no such id and version.
        """
        for model in self._models:
            if model.id == model_id and model.version == version:
                return model
        raise UnknownModel(f"no assessment model {model_id!r} version {version}")

    def latest(self, model_id: str) -> AssessmentModel:
        """The highest version of a model, which a new case starts with.

        :raises UnknownModel: when the catalog has no model with this id.
        """
        versions = [model for model in self._models if model.id == model_id]
        if not versions:
            raise UnknownModel(f"no assessment model {model_id!r}")
        return versions[-1]

    def choices(self) -> list[AssessmentModel]:
        """The latest version of each model, by id, for a district administrator to choose."""
        latest: dict[str, AssessmentModel] = {}
        for model in self._models:
            latest[model.id] = model
        return list(latest.values())


def load_catalog(directory: Path | None = None) -> Catalog:
    """Load and validate every ``*.toml`` model in ``directory`` (the shipped models by default).

    :raises ModelError: when a file is malformed, two files define one id and version, or the
        directory holds no model at all.
    """
    folder = MODELS_DIR if directory is None else directory
    paths = sorted(folder.glob("*.toml"))
    if not paths:
        raise ModelError(folder.name, "", "no assessment model file (*.toml) found")
    return Catalog(parse_model_file(path) for path in paths)
