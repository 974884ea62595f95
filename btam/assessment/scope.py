"""What an actor may list of facts: the record-class rules of notes, from the policy's tables."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from btam.access.policy import Access
from btam.assessment.models import Fact
from btam.cases.scope import readable_records


def visible_facts(access: Access) -> ColumnElement[bool]:
    """A filter on :class:`Fact`: the facts (every version) the actor may read in full."""
    return readable_records(access, Fact)
