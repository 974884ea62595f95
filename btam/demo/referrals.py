"""The demo cases' referrals and notifications: a referral completed, one declined with the
reason, one overdue for follow-up; targets and parents told and still to be told; a subject's
documented history and the staff told of it in writing.

All invented, written through the referral and notification services as the demo account that
would do each step, at the time it would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from btam.accounts import repository as accounts_repo
from btam.accounts.services import organisation
from btam.assessment.terms import Method
from btam.cases import repository as case_repo
from btam.cases.services.guard import load_case
from btam.context import ServiceContext, Staged, carry_out
from btam.demo.cases import BATHROOM_WALL, CASES, PARENT_GUN, DemoCase, acting_as
from btam.people.terms import Part
from btam.plans.referral_terms import Audience, Consent, Destination, History, ReferralMove
from btam.plans.services import notifications, referrals
from btam.plans.services.referrals import ConsentData, ReferralData

T = TypeVar("T")
LEAD = "lead.okafor"
PSYCH = "psych.lindqvist"
OFFICER = "sro.reyes"
AP = "ap.chen"


def days(n: float) -> timedelta:
    return timedelta(days=n)


@dataclass
class _Loader:
    ctx: ServiceContext

    def do(
        self, username: str, ago: timedelta, use_case: Callable[[ServiceContext], Staged[T]]
    ) -> T:
        user = accounts_repo.user_by_username(self.ctx.db, username)
        assert user is not None, username  # noqa: S101  (the demo made every account)
        ctx = acting_as(self.ctx, user, self.ctx.now - ago)
        return carry_out(ctx, use_case(ctx))

    def person(self, number: str, given: str, part: Part) -> int:
        user = accounts_repo.user_by_username(self.ctx.db, LEAD)
        assert user is not None  # noqa: S101  (the demo made every account)
        case = load_case(acting_as(self.ctx, user, self.ctx.now), number).case
        return next(
            person.id
            for party, person in case_repo.parties(self.ctx.db, case.id)
            if party.part is part and person.given_name == given
        )

    def day(self, ago: timedelta) -> date:
        return organisation.local_day(self.ctx, self.ctx.now - ago)

    def move(
        self,
        number: str,
        referral_id: int,
        username: str,
        ago: timedelta,
        step: ReferralMove,
        *,
        note: str = "",
        follow_up_in: timedelta | None = None,
    ) -> None:
        follow = self.day(ago - follow_up_in) if follow_up_in is not None else None
        self.do(
            username,
            ago,
            lambda ctx: referrals.move_referral(
                ctx, number, referral_id, move=step, note=note, follow_up_on=follow
            ),
        )

    def draft(
        self,
        number: str,
        username: str,
        ago: timedelta,
        *,
        destination: Destination,
        agency: str,
        contact: str,
        reason: str,
        consent: ConsentData,
    ) -> int:
        return self.do(
            username,
            ago,
            lambda ctx: referrals.draft_referral(
                ctx,
                number,
                ReferralData(
                    person_id=None,
                    destination=destination,
                    agency=agency,
                    contact=contact,
                    reason=reason,
                    consent=consent,
                    follow_up_on=self.day(ago - days(3)),
                ),
            ),
        )

    def notify(
        self,
        number: str,
        username: str,
        ago: timedelta,
        *,
        audience: Audience,
        about: int,
        recipient: str,
        method: Method,
        summary: str,
    ) -> None:
        self.do(
            username,
            ago,
            lambda ctx: notifications.record_notification(
                ctx,
                number,
                audience=audience,
                about_person_id=about,
                recipient=recipient,
                notified_at=ctx.now,
                method=method,
                summary=summary,
            ),
        )


def _consent(loader: _Loader, ago: timedelta, purpose: str, recipient: str) -> ConsentData:
    return ConsentData(
        Consent.OBTAINED,
        records="The threat assessment summary, the safety plan and attendance since August",
        purpose=purpose,
        recipient=recipient,
        given_on=loader.day(ago),
    )


def _parent_gun(loader: _Loader, number: str) -> None:
    """The 7th grader who spoke of his father's gun: a counseling referral followed to its
    end, a mentoring referral the program declined, Mason and his parents told, Aiden and his
    parents not yet."""
    clinic = "Cedar Valley Family Counseling"
    completed = loader.draft(
        number,
        PSYCH,
        days(10),
        destination=Destination.COMMUNITY_MENTAL_HEALTH,
        agency=clinic,
        contact="Dr. Renata Alves, intake coordinator, (555) 014-2290",
        reason="Weekly counseling for anger and worry about his father's gun at home.",
        consent=_consent(loader, days(10), "Counseling intake and treatment", clinic),
    )
    loader.move(number, completed, PSYCH, days(9), ReferralMove.SEND, follow_up_in=days(3))
    loader.move(
        number,
        completed,
        PSYCH,
        days(7),
        ReferralMove.ACCEPT,
        note="Intake booked.",
        follow_up_in=days(3),
    )
    loader.move(
        number,
        completed,
        PSYCH,
        days(5),
        ReferralMove.START_SERVICE,
        note="First session held; weekly on Tuesdays.",
    )
    loader.move(
        number,
        completed,
        PSYCH,
        days(1),
        ReferralMove.COMPLETE,
        note="Short course finished; the family continues monthly on its own.",
    )
    club = "Cedar Park Boys & Girls Club"
    declined = loader.draft(
        number,
        LEAD,
        days(9),
        destination=Destination.COMMUNITY_SERVICES,
        agency=club,
        contact="Program desk, (555) 014-7731",
        reason="An after-school mentor and a place to be between 3 and 6 pm.",
        consent=_consent(loader, days(9), "Mentoring program enrolment", club),
    )
    loader.move(number, declined, LEAD, days(8), ReferralMove.SEND, follow_up_in=days(4))
    loader.move(
        number,
        declined,
        LEAD,
        days(4),
        ReferralMove.DECLINE,
        note="The mentoring program is full for the semester and keeps no waiting list.",
    )
    mason = loader.person(number, "Mason", Part.TARGET)
    loader.notify(
        number,
        LEAD,
        days(8),
        audience=Audience.TARGET,
        about=mason,
        recipient="Mason Reilly",
        method=Method.IN_PERSON,
        summary="Told Mason what was said, that adults are acting on it, and whom to go to.",
    )
    loader.notify(
        number,
        LEAD,
        days(8),
        audience=Audience.TARGET_PARENTS,
        about=mason,
        recipient="Jennifer Reilly (mother)",
        method=Method.PHONE,
        summary="Explained the threat, the supervision in place and the school's contacts.",
    )


def _bathroom_wall(loader: _Loader, number: str) -> None:
    """The restroom-wall threat: a referral to the county's youth program sent and not
    answered (its follow-up is overdue); the teacher threatened told; the student's history
    of violence against staff recorded and his new teachers told in writing."""
    program = "Riverbend County Youth Services"
    overdue = loader.draft(
        number,
        LEAD,
        days(11),
        destination=Destination.COMMUNITY_SERVICES,
        agency=program,
        contact="Marcus Bell, case manager, (555) 014-6610",
        reason="An anger-management group and a case manager for the family.",
        consent=_consent(loader, days(11), "Anger-management group and case management", program),
    )
    loader.move(number, overdue, LEAD, days(10), ReferralMove.SEND, follow_up_in=days(7))
    tyler = loader.person(number, "Tyler", Part.SUBJECT)
    karen = loader.person(number, "Karen", Part.TARGET)
    loader.notify(
        number,
        AP,
        days(15),
        audience=Audience.TARGET,
        about=karen,
        recipient="Karen Whitfield",
        method=Method.IN_PERSON,
        summary="Told Ms. Whitfield of the message and of the supervision plan for her room.",
    )
    loader.do(
        OFFICER,
        days(14),
        lambda ctx: notifications.record_history(
            ctx,
            number,
            person_id=tyler,
            kind=History.VIOLENCE_AGAINST_STAFF,
            documented_in="Discipline record of the cafeteria outburst: shoved a lunch monitor.",
        ),
    )
    loader.notify(
        number,
        AP,
        days(13),
        audience=Audience.STAFF,
        about=tyler,
        recipient="Mr. Daniel Ruiz, English teacher of Tyler's new schedule",
        method=Method.EMAIL,
        summary="In writing, before the schedule change: the history, the plan and whom to call.",
    )


def load_referrals(ctx: ServiceContext, numbers: tuple[str, ...]) -> None:
    """Add the demo referrals and notifications to the demo cases just loaded (``numbers``,
    in the order ``load_cases`` gave them); nothing when no case was loaded.

    :raises AuditUnavailable: when a step cannot be recorded (the steps before it stay).
    """
    if not numbers:
        return
    ordered: list[DemoCase] = sorted(CASES, key=lambda c: -c.opened_ago)
    by_case = {id(demo): number for demo, number in zip(ordered, numbers, strict=False)}
    loader = _Loader(ctx)
    _parent_gun(loader, by_case[id(PARENT_GUN)])
    _bathroom_wall(loader, by_case[id(BATHROOM_WALL)])
    for demo, number in by_case.items():
        if demo != id(PARENT_GUN):
            _told_in_time(loader, number)


def _told_in_time(loader: _Loader, number: str) -> None:
    """The other cases told everyone they owed a notification, on the day it was due."""
    user = accounts_repo.user_by_username(loader.ctx.db, LEAD)
    assert user is not None  # noqa: S101  (the demo made every account)
    case = load_case(acting_as(loader.ctx, user, loader.ctx.now), number).case
    names = {
        person.id: person.full_name for _p, person in case_repo.parties(loader.ctx.db, case.id)
    }
    for duty in notifications.duties(loader.ctx, case):
        if duty.done:
            continue
        name = names.get(duty.person_id, "")
        parents = duty.audience is Audience.TARGET_PARENTS
        ago = organisation.local_day(loader.ctx) - duty.due_on + days(0.5)
        loader.notify(
            number,
            LEAD,
            max(ago, days(0)),
            audience=duty.audience,
            about=duty.person_id,
            recipient=f"The parents of {name}" if parents else name,
            method=Method.PHONE if parents else Method.IN_PERSON,
            summary="Told what was said, what the school is doing about it, and whom to call.",
        )
