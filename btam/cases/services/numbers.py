"""Case numbers for pages that name a case without opening it (the auditor's trail).

A case number is how people speak of a case; the internal id is how the audit trail stores
it. Neither says anything about the case, so the mapping needs no case permission.
"""

from __future__ import annotations

from collections.abc import Iterable

from btam.cases import repository
from btam.cases.services.guard import CASE_NUMBER
from btam.context import ServiceContext
from btam.ids import is_record_id


def numbers_of(ctx: ServiceContext, case_ids: Iterable[int]) -> dict[int, str]:
    """The number of each case id that names a case (unknown ids are left out)."""
    return repository.case_numbers(ctx.db, (i for i in case_ids if is_record_id(i)))


def case_id_of(ctx: ServiceContext, number: str) -> int | None:
    """The id of the case numbered ``number``, or ``None`` when no case has it."""
    number = number.strip()
    case = repository.case_exists(ctx.db, number) if CASE_NUMBER.fullmatch(number) else None
    return case.id if case is not None else None
