"""The plan's part of the case page: its view and its forms with this case's choices."""

from __future__ import annotations

from typing import Any

from wtforms import SelectChoice

from btam.cases.services.guard import CaseInScope
from btam.context import ServiceContext
from btam.plans.dto import PlanView
from btam.plans.forms import CloseForm, PlanItemForm, ReviewForm, SupportPlanForm
from btam.plans.services import items
from btam.plans.services.view import plan_view


def fill_item_form(ctx: ServiceContext, loaded: CaseInScope, form: PlanItemForm) -> None:
    """Give the item form this case's owners and targets."""
    form.owner_id.choices = [SelectChoice(i, n) for i, n in items.owner_choices(ctx, loaded)]
    form.target_party_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(i, n) for i, n in items.target_choices(ctx, loaded.case.id)
    ]


def plan_section(ctx: ServiceContext, loaded: CaseInScope, **forms: Any) -> dict[str, Any]:
    """The plan's view and forms for the case page (the forms given are shown again)."""
    view: PlanView = plan_view(ctx, loaded)
    item_form = forms.get("plan_form") or PlanItemForm(formdata=None)
    if view.can_plan:
        fill_item_form(ctx, loaded, item_form)
    return {
        "view": view,
        "item_form": item_form,
        "review_form": forms.get("review_form") or ReviewForm(formdata=None),
        "close_form": forms.get("close_form") or CloseForm(formdata=None),
        "support_form": forms.get("support_form") or SupportPlanForm(formdata=None),
    }
