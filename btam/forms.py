"""The base of every form: text fields refuse control characters with a clear message.

A NUL byte or an escape sequence has no place in a name or a narrative; PostgreSQL refuses NUL
outright, and terminals and spreadsheets act on the others.
"""

from __future__ import annotations

import unicodedata
from typing import Any, ClassVar

from flask import g, has_request_context
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import Field, Form, IntegerField, SelectChoice, SelectMultipleField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, Select

from btam.ids import parse_id

# Line breaks and tabs are text; every other control character is not.
ALLOWED_CONTROLS = frozenset("\n\r\t")
TEXT_FIELD_TYPES = frozenset(
    {"StringField", "TextAreaField", "PasswordField", "SearchField", "EmailField"}
)


def no_control_characters(_form: Form, field: Field) -> None:
    value = field.data
    if isinstance(value, str) and any(
        unicodedata.category(ch) == "Cc" and ch not in ALLOWED_CONTROLS for ch in value
    ):
        raise ValidationError("Remove the control characters from this field.")


class BaseForm(FlaskForm):
    """A CSRF-protected form whose text fields refuse control characters.

    A form that shares its page with others sets ``id_prefix``: its fields keep their names
    (what is posted) but take ids of their own, so each label names its own field.
    """

    id_prefix: ClassVar[str] = ""

    class Meta:
        def bind_field(self, form: Form, unbound_field: Any, options: dict[str, Any]) -> Field:
            if unbound_field.field_class.__name__ in TEXT_FIELD_TYPES:
                validators = list(unbound_field.kwargs.get("validators") or [])
                validators.insert(0, no_control_characters)
                unbound_field.kwargs["validators"] = validators
            if unbound_field.field_class.__name__ == "CSRFTokenField":
                # Hidden and unlabelled: an id would only repeat on pages with several forms.
                return unbound_field.bind(form=form, **options, render_kw={"id": False})
            prefix = getattr(form, "id_prefix", "")
            if prefix and "id" not in unbound_field.kwargs:
                options = {**options, "id": f"{prefix}-{options['name']}"}
            return unbound_field.bind(form=form, **options)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        if not valid:
            note_refused(self)
        return valid


def note_refused(form: Form) -> None:
    """Keep a refused form for the page's error summary (``refused_fields``)."""
    if has_request_context():
        refused: list[Form] = g.setdefault("refused_forms", [])
        if form not in refused:
            refused.append(form)


def refused_fields() -> list[tuple[str, str, str]]:
    """Each error of this request's refused forms: the field's id, its label and the error.

    The page lists them at its top, each linking to its field, so that after a refused submit
    the reader learns at once what to fix and where, however long the form.
    """
    found: list[tuple[str, str, str]] = []
    for form in g.get("refused_forms", []):
        for field in form:
            if field.type == "CSRFTokenField":
                continue
            for error in field.errors:
                found.append((field.id, str(field.label.text), str(error)))
    return found


_OPTION = Markup('<option value="{}">{}</option>')
_SELECTED_OPTION = Markup('<option selected value="{}">{}</option>')


class LongSelect(Select):
    """A select whose plain options are spelt directly, not through an attribute dict each:
    the same HTML, for menus of hundreds (a state's schools, every audited action)."""

    @classmethod
    def render_option(cls, choice: SelectChoice, **kwargs: Any) -> Markup:
        if choice.render_kw or kwargs:
            rendered: Markup = super().render_option(choice, **kwargs)
            return rendered
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        # Markup.format escapes each value it is given.
        spelt = _SELECTED_OPTION if choice.selected else _OPTION
        return spelt.format(value, choice.label or choice.value)


class MultiCheckboxField(SelectMultipleField):
    """A set of checkboxes, each with its own label (easier than a multi-select by keyboard)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RecordIdField(IntegerField):
    """A typed record id: ASCII digits within a column's range (``btam.ids.parse_id``).

    WTForms' IntegerField runs ``int()``, which takes "٣", " 3", "+3" and "3_000" and any
    size; this one refuses them with the field's error, so no such value reaches a query.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or valuelist[0] in ("", None):
            return
        found = parse_id(valuelist[0]) if isinstance(valuelist[0], str) else None
        if found is None:
            self.data = None
            raise ValueError(self.gettext("Not a valid record number."))
        self.data = found


def record_id_text(_form: Form, field: Field) -> None:
    """A validator for a text field that may hold a record id (a hidden field, say)."""
    value = field.data
    if value and (not isinstance(value, str) or parse_id(value) is None):
        raise ValidationError("Not a valid record number.")


class CountField(IntegerField):
    """A small count typed in ASCII digits (minutes, days): ``int()`` alone would take "٣",
    " 3", "+3", "3_000" and any size; this field refuses them with its error."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or valuelist[0] in ("", None):
            return
        text = valuelist[0]
        if not (isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 6):
            self.data = None
            raise ValueError(self.gettext("Not a valid number."))
        self.data = int(text)
