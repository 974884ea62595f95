"""The demo's cases: six fictional cases of the Riverbend team, at every stage of the work.

Everyone named here is invented. Each case is written through the case services, acting as
the demo account that would do the work (the lead opens the case and keeps the education
record, the psychologist writes counseling notes, the school resource officer the
law-enforcement unit's), so the policy decides and the audit trail records every step as it
would for a real team. The trail's entries carry the request id ``btam-demo``.

Dates are set back so that the cases read as weeks of work: a case opened 20 days ago has
its notes on the days they were written. Status and level of concern are set on the case
row, and recorded as ``system:demo:loaded``: no service sets them yet (determinations will).
The emergency grant is taken now, so that it is active for its hours after loading.

Cases are loaded only into a district that has none: running ``btam demo`` again, or on a
district already in use, adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import TypeVar

from btam.access.policy import Act
from btam.access.record_classes import RecordClass
from btam.accounts import repository as accounts_repo
from btam.accounts.models import User
from btam.accounts.services import organisation
from btam.accounts.signin import actor_for
from btam.assessment.catalog import CLOSING_CLASSIFICATION
from btam.assessment.services import answers, determinations, facts, notices
from btam.audit.context import AuditContext
from btam.cases import repository as case_repo
from btam.cases.lifecycle import Transition, next_status
from btam.cases.services import emergency, guard, lifecycle, opening, records, team
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext, Staged, carry_out
from btam.demo import case_assessments as assessments
from btam.demo.case_assessments import (
    DemoAnswer,
    DemoAssessment,
    DemoDetermination,
    DemoFact,
    DemoMove,
    DemoNotice,
)
from btam.people.services import disclosures
from btam.people.services.matching import PersonData
from btam.people.terms import DisclosureBasis, Part, PersonKind
from btam.plans.services import closure, log, reviews
from btam.plans.services import items as plan_items
from btam.plans.terms import Aim, Intervention, ItemStatus, LogKind, SupportPlan

T = TypeVar("T")
REQUEST_ID = "btam-demo"
OFFICER = "sro.reyes"

LEAD = "lead.okafor"
PSYCH = "psych.lindqvist"
AP = "ap.chen"
TEACHER = "teacher.haddad"
COUNSELOR = "counselor.ng"


# --------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class DemoPerson:
    kind: PersonKind
    given: str
    family: str
    school: str | None = None  # school code: where a student attends or staff works
    age: int | None = None  # a date of birth this many years before today's year
    birthday: tuple[int, int] = (1, 1)  # month, day
    student_number: str = ""

    def data(self, school_ids: dict[str, int], today: date) -> PersonData:
        born = None
        if self.age is not None:
            born = date(today.year - self.age, *self.birthday)
        return PersonData(
            kind=self.kind,
            given_name=self.given,
            family_name=self.family,
            date_of_birth=born,
            student_number=self.student_number,
            school_id=school_ids[self.school] if self.school else None,
        )


@dataclass(frozen=True)
class Step:
    """One piece of work on a case, ``after`` its opening, by the account ``by``."""

    after: timedelta
    by: str


@dataclass(frozen=True)
class NoteStep(Step):
    record_class: RecordClass
    body: str
    team_summary: str | None = None


@dataclass(frozen=True)
class AttachmentStep(Step):
    record_class: RecordClass
    filename: str
    text: str


@dataclass(frozen=True)
class PlanStep(Step):
    """A plan item the lead adds: aimed at the subject, a target (by family name) or the
    environment; finished ``done_after`` it was planned, or when the case moves to monitoring."""

    owner: str
    intervention: Intervention
    description: str
    due_in: timedelta
    aim: Aim = Aim.SUBJECT
    target: str | None = None
    done_after: timedelta | None = None


@dataclass(frozen=True)
class LogStep(Step):
    """A session its owner (``by``) logs on the plan item whose description starts so."""

    item: str
    kind: LogKind
    minutes: int
    private_notes: str
    team_summary: str


@dataclass(frozen=True)
class ReviewStep(Step):
    changes: str


@dataclass(frozen=True)
class SupportPlanStep(Step):
    plan: SupportPlan


PLAN_STEPS = (PlanStep, LogStep, ReviewStep, SupportPlanStep)


@dataclass(frozen=True)
class MemberStep(Step):
    member: str


@dataclass(frozen=True)
class DisclosureStep(Step):
    """An entry in the subject's record of disclosures."""

    basis: DisclosureBasis
    recipient: str
    interest: str


@dataclass(frozen=True)
class GrantStep:
    """An emergency grant taken now by ``by``, an account outside the case."""

    by: str
    threat: str
    parties: str


@dataclass(frozen=True)
class DemoCase:
    school: str
    opened_ago: timedelta
    summary: str
    subject: DemoPerson
    parties: tuple[tuple[Part, DemoPerson], ...] = ()
    steps: tuple[Step, ...] = ()
    grant: GrantStep | None = None
    # Facts, answers, determinations, notices and later moves (btam/demo/case_assessments.py).
    assessment: DemoAssessment = field(default_factory=DemoAssessment)
    opened_by: str = LEAD

    @property
    def level(self) -> str | None:
        """The level the case ends with: its last determination every participant confirmed."""
        confirmed = [d for d in self.assessment.determinations if _all_confirm(d)]
        return confirmed[-1].level if confirmed else None

    @property
    def status(self) -> CaseStatus:
        """The status the case ends with, as the lifecycle moves it through the plan."""
        plan = self.assessment
        steps = sorted(
            [(d.after, d) for d in plan.determinations if _all_confirm(d)]
            + [(m.after, m) for m in plan.moves],
            key=lambda pair: pair[0],
        )
        status = CaseStatus.ASSESSMENT
        for _after, step in steps:
            if isinstance(step, DemoMove):
                status = next_status(status, step.move)
            elif step.classification == CLOSING_CLASSIFICATION:
                status = next_status(status, Transition.CLOSE)
            elif status is CaseStatus.ASSESSMENT:
                status = next_status(status, Transition.BEGIN_MANAGEMENT)
        return status


def _all_confirm(determination: DemoDetermination) -> bool:
    return all(after is not None for after in determination.confirmed_after.values())


def days(n: float, hours: float = 0) -> timedelta:
    return timedelta(days=n, hours=hours)


def student(
    given: str, family: str, school: str, age: int, birthday: tuple[int, int], number: str
) -> DemoPerson:
    return DemoPerson(PersonKind.STUDENT, given, family, school, age, birthday, number)


def staff(given: str, family: str, school: str | None = None) -> DemoPerson:
    return DemoPerson(PersonKind.STAFF, given, family, school)


def other(
    given: str, family: str, age: int | None = None, birthday: tuple[int, int] = (1, 1)
) -> DemoPerson:
    return DemoPerson(PersonKind.OTHER, given, family, None, age, birthday)


# Tyler and his mother appear in two cases: the second finds them again by blind index.
TYLER = student("Tyler", "Brandt", "RHS", 16, (3, 9), "2041187")
LISA_BRANDT = other("Lisa", "Brandt", 44, (8, 21))
GREG_BRANDT = other("Greg", "Brandt", 46, (1, 30))
# People the demo's reports name again (btam/demo_intake.py): found by blind index.
OWEN = student("Owen", "Pike", "RHS", 16, (11, 2), "2040356")
DYLAN = other("Dylan", "Kessler", 19, (6, 14))
KAYLA = student("Kayla", "Morrison", "RHS", 17, (9, 5), "2038842")
ETHAN = student("Ethan", "Cruz", "CPMS", 12, (5, 27), "3057729")
MASON = student("Mason", "Reilly", "CPMS", 12, (2, 11), "3057104")

CAFETERIA = DemoCase(
    assessment=assessments.CAFETERIA,
    school="RHS",
    opened_ago=days(212),
    summary=(
        "During lunch in the RHS cafeteria a 10th grader, Tyler Brandt, argued with a "
        "classmate, Owen Pike, over a phone Owen had borrowed and dropped. The lunch "
        'supervisor heard Tyler shout "you\'re dead after school" across the table. Tyler was '
        "walked to the main office; no one was hurt and nothing was thrown."
    ),
    subject=TYLER,
    parties=(
        (Part.TARGET, OWEN),
        (Part.WITNESS, staff("Denise", "Farrow", "RHS")),
        (Part.PARENT, LISA_BRANDT),
    ),
    steps=(
        NoteStep(
            days(0, 2),
            LEAD,
            RecordClass.EDUCATION,
            "Screening the same afternoon. Interviewed Tyler with Grace Chen: he says he "
            "meant he would make Owen pay for the screen, that he was embarrassed in front of "
            "friends and 'said something stupid'. He apologised to Owen in the office without "
            "being asked. No plan, no mention of weapons, no history of fights; grades steady. "
            "Owen says he was startled but is not afraid of Tyler and wants the phone sorted "
            "out. Mrs. Farrow confirms the words and that Tyler calmed down within minutes. "
            "Mother (Lisa Brandt) reached by phone: no firearms in her home; she will cover "
            "half of the repair.",
        ),
        PlanStep(
            days(1, 1),
            LEAD,
            owner=AP,
            intervention=Intervention.SUPERVISION,
            description="Hold a restorative conversation with Tyler and Owen, then check in "
            "with Tyler once a week for four weeks; tell the team of any new conflict.",
            due_in=days(30),
            done_after=days(36),
        ),
        ReviewStep(
            days(30),
            LEAD,
            "Three check-ins held, nothing new from staff or students; the restorative "
            "agreement is kept. Close after the last check-in.",
        ),
        NoteStep(
            days(41),
            LEAD,
            RecordClass.EDUCATION,
            "Closing. The restorative conversation took place on day 3; both boys kept to the "
            "agreement. Four check-ins, nothing new, no further reports from staff or "
            "students. Mother informed that the case is closed. It stays in Tyler's history.",
        ),
    ),
)

STAFF_EMAIL = DemoCase(
    assessment=assessments.STAFF_EMAIL,
    school="RHS",
    opened_ago=days(76),
    summary=(
        "A physical-education teacher and former head coach at RHS, Gordon Pryce, emailed the "
        "principal at 11:48 pm the day after he was removed as coach following a district "
        'investigation. The email ended: "Enjoy it while it lasts. People like you never see '
        'it coming until it is too late. I have nothing left to lose now." The principal '
        "forwarded it to the team lead at 6:30 the next morning."
    ),
    subject=staff("Gordon", "Pryce", "RHS"),
    parties=(
        (Part.TARGET, staff("Helen", "Ostrowski", "RHS")),
        (Part.WITNESS, staff("Marcus", "Bell")),
    ),
    steps=(
        NoteStep(
            days(0, 1),
            LEAD,
            RecordClass.EDUCATION,
            "With HR (Marcus Bell, district HR director): Mr. Pryce is on paid administrative "
            "leave while the team assesses; he is told not to come to campus and his badge is "
            "turned off. Principal Ostrowski is shaken; campus security walks her to her car "
            "this week. Colleagues describe him as proud and well liked, recently separated, "
            "and 'crushed' by losing the team he coached for twelve years. No earlier "
            "complaints of threats or violence in his personnel file.",
        ),
        NoteStep(
            days(1),
            OFFICER,
            RecordClass.LAW_ENFORCEMENT,
            "Welfare check at his home with RPD patrol (Ofc. Dana Kim), 17:10. Cooperative, "
            "tearful; says the email was 'a stupid thing to send at midnight' and that he "
            "meant his lawyer would make the district regret it. Owns two shotguns and a "
            "handgun. On our suggestion he agreed to leave them with his brother for now; his "
            "brother collected them in our presence. No offence charged: statement is "
            "ambiguous and conditional. Case report RPD 26-11873 for reference only.",
            team_summary="Welfare check done with RPD the day after the email: cooperative, "
            "remorseful, says he meant legal action. He owns firearms and has voluntarily "
            "left them with his brother, which we witnessed. No criminal charge.",
        ),
        PlanStep(
            days(2, 3),
            LEAD,
            owner=AP,
            intervention=Intervention.OTHER,
            description="Employee Assistance referral and a fitness-for-duty evaluation "
            "before any return, arranged with HR.",
            due_in=days(30),
            done_after=days(31),
        ),
        PlanStep(
            days(2, 3),
            LEAD,
            owner=AP,
            intervention=Intervention.TARGET_SAFETY_PLAN,
            aim=Aim.TARGET,
            target="Ostrowski",
            description="Campus security walks Principal Ostrowski to her car; meetings "
            "with Mr. Pryce only with HR present.",
            due_in=days(30),
        ),
        ReviewStep(
            days(16),
            LEAD,
            "On leave, no contact attempts; evaluation booked. Keep the plan.",
        ),
        ReviewStep(
            days(30),
            LEAD,
            "Evaluation done; return with conditions being prepared with HR.",
        ),
        NoteStep(
            days(34),
            LEAD,
            RecordClass.EDUCATION,
            "Fitness-for-duty evaluation cleared him to return with conditions. Back to "
            "teaching from day 36: weekly check-in with Grace Chen, meetings with the principal "
            "only with HR present. Moved to monitoring; review every 14 days.",
        ),
        ReviewStep(
            days(48),
            LEAD,
            "Two weeks back at work, check-ins kept; nothing of concern.",
        ),
        ReviewStep(
            days(62),
            LEAD,
            "Four weeks back at work, check-ins kept, no concerning comments. Close after two "
            "more quiet reviews.",
        ),
        NoteStep(
            days(62),
            LEAD,
            RecordClass.EDUCATION,
            "Monitoring review: four weeks back at work, check-ins kept, no concerning "
            "comments from staff or students. Principal reports working contact is polite. "
            "Next review in 14 days; close after two more quiet reviews.",
        ),
    ),
)

FORMER_STUDENT = DemoCase(
    assessment=assessments.FORMER_STUDENT,
    school="RHS",
    opened_ago=days(41),
    summary=(
        "Dylan Kessler, 19, left RHS last year without graduating. A senior, Kayla Morrison, "
        "told Grace Chen that since she ended their relationship he has sent her messages "
        'such as "you can\'t hide at school forever, I know your schedule", and that he '
        "has twice waited in his car in the student lot at dismissal. A friend of hers "
        "saw him there on both days."
    ),
    subject=DYLAN,
    parties=(
        (Part.TARGET, KAYLA),
        (Part.WITNESS, student("Brianna", "Soto", "RHS", 17, (4, 18), "2038911")),
        (Part.PARENT, other("Renee", "Morrison")),
    ),
    steps=(
        NoteStep(
            days(0, 3),
            LEAD,
            RecordClass.EDUCATION,
            "Kayla showed Ms. Chen eleven messages over nine days; none mentions a weapon, "
            "several say he 'just wants to talk'. Brianna describes the car (grey hatchback) "
            "and where it parked. Safety plan for Kayla, agreed with her and her mother: she "
            "leaves by the gym door, a staff member walks her to her car for now, the front "
            "office has his photo from last year's yearbook and calls the SRO if he is seen.",
        ),
        MemberStep(days(0, 4), LEAD, member=TEACHER),
        PlanStep(
            days(2, 6),
            LEAD,
            owner=PSYCH,
            intervention=Intervention.TARGET_SAFETY_PLAN,
            aim=Aim.TARGET,
            target="Morrison",
            description="Kayla leaves by the gym door and is walked to her car; weekly "
            "support sessions while she wants them.",
            due_in=days(28),
        ),
        PlanStep(
            days(2, 6),
            LEAD,
            owner=OFFICER,
            intervention=Intervention.SEARCH_PROTOCOL,
            aim=Aim.ENVIRONMENT,
            description="Front office has his photo; the SRO is called if he is seen; RPD "
            "patrol passes the student lot at dismissal for two weeks.",
            due_in=days(14),
            done_after=days(14),
        ),
        NoteStep(
            days(1),
            TEACHER,
            RecordClass.EDUCATION,
            "I was Dylan's 8th-grade advisor at CPMS and still know his mother. She says he "
            "lost his job in the summer, is living with her and is 'not himself'. She did not "
            "know about the messages and will talk to him tonight. No weapons at home that "
            "she knows of.",
        ),
        NoteStep(
            days(2),
            OFFICER,
            RecordClass.LAW_ENFORCEMENT,
            "Served an RPD no-trespass notice for RHS grounds at the Kessler home, 16:20; he "
            "signed it and said he would stay away. No firearms registered to him or to the "
            "household. Gave Mrs. Morrison the court's protective-order information sheet. "
            "Patrol asked to drive by the student lot at dismissal for two weeks.",
            team_summary="No-trespass notice for RHS served on Dylan and acknowledged. No "
            "firearms on record. Kayla's mother has the protective-order information; RPD "
            "patrol passes the student lot at dismissal.",
        ),
        NoteStep(
            days(3),
            PSYCH,
            RecordClass.COUNSELING,
            "Met Kayla (target) at her request. Anxious, sleeping badly, checking the lot "
            "before leaving class; no self-harm thoughts. Talked through the safety plan and "
            "what to do if he contacts her. She has blocked him on every app and kept "
            "screenshots. Will meet weekly while she wants to.",
            team_summary="Kayla is shaken but coping; she knows the safety plan and whom to "
            "go to. Weekly support sessions with me while she wants them.",
        ),
        ReviewStep(
            days(9),
            LEAD,
            "No contact since the notice; patrol continues. Keep the plan.",
        ),
        ReviewStep(
            days(23),
            LEAD,
            "No messages or sightings; Kayla asks to end the escort next week.",
        ),
        NoteStep(
            days(28),
            LEAD,
            RecordClass.EDUCATION,
            "No messages and no sightings for three and a half weeks. Kayla now walks to her "
            "car with friends; escort stopped at her request. Moved to monitoring, level low; "
            "review in 30 days or at once if he contacts her.",
        ),
    ),
)

BATHROOM_WALL = DemoCase(
    assessment=assessments.BATHROOM_WALL,
    school="RHS",
    opened_ago=days(20),
    summary=(
        "At 7:05 am the custodian found words written in black marker inside a stall of the "
        'B-wing boys\' restroom: "4TH PERIOD CHEM - FRIDAY YOU ALL SEE. NOBODY LEAVES." The '
        "restroom was closed and photographed. The hall-pass log and a classmate's report "
        "point to Tyler Brandt, now in 11th grade, who has a closed case from last spring."
    ),
    subject=TYLER,
    parties=(
        (Part.TARGET, staff("Karen", "Whitfield", "RHS")),
        (Part.WITNESS, student("Sofia", "Marquez", "RHS", 16, (12, 12), "2041530")),
        (Part.WITNESS, staff("Ray", "Delgado", "RHS")),
        (Part.PARENT, LISA_BRANDT),
        (Part.PARENT, GREG_BRANDT),
    ),
    steps=(
        AttachmentStep(
            days(0, 1),
            LEAD,
            RecordClass.EDUCATION,
            "restroom-wall-transcription.txt",
            "Transcription of the writing found in the B-wing boys' restroom, stall 3\n"
            "Found by: Ray Delgado (custodian), 7:05 am; transcribed by D. Okafor, 7:40 am\n"
            "\n"
            "  4TH PERIOD CHEM - FRIDAY YOU ALL SEE. NOBODY LEAVES.\n"
            "\n"
            "Black permanent marker, capital letters about 5 cm high, inside of the door.\n"
            "Photographs: held by Officer Reyes (law-enforcement unit record).\n"
            "Restroom closed until the writing was removed at 10:15 am.\n",
        ),
        NoteStep(
            days(0, 3),
            LEAD,
            RecordClass.EDUCATION,
            "Interview of Tyler with his father present. He admits writing it during 3rd "
            "period. Says he is failing chemistry, that classmates laughed when Ms. Whitfield "
            "read grades aloud, and that he 'wanted them to feel scared for once'. Denies any "
            "plan. Sofia Marquez says he told two boys at lunch last week that 'something is "
            "going to happen in chem'. Ms. Whitfield says grades are never read aloud; she "
            "has noticed him sleeping in class and wearing the same hoodie every day. "
            "Stressors: parents separated in August, cut from the wrestling team. His earlier "
            "case (cafeteria, last spring) was transient and closed.",
        ),
        NoteStep(
            days(1),
            OFFICER,
            RecordClass.LAW_ENFORCEMENT,
            "Home visit with both parents, 15:30. Father keeps two hunting rifles in a gun "
            "safe in the garage; Tyler has watched him open it. Father changed the code in "
            "our presence and will keep ammunition at his brother's house. Mother's apartment: "
            "no firearms. Tyler's school laptop history (district IT, with the principal's "
            "authorisation) shows searches about a past school shooting two weeks ago. Photos "
            "of the wall logged as items 1-4. No charge filed at this time.",
            team_summary="Father owns two hunting rifles in a safe Tyler may have seen "
            "opened; the code was changed while I was there and ammunition moved off-site. "
            "No firearms at the mother's home. His laptop shows searches about a past school "
            "shooting. No criminal charge for now.",
        ),
        AttachmentStep(
            days(1, 2),
            OFFICER,
            RecordClass.LAW_ENFORCEMENT,
            "evidence-log.txt",
            "RHS SRO evidence log - restroom writing\n"
            "1-3  photographs of stall 3 door, B-wing boys' restroom (T. Reyes, 7:20 am)\n"
            "4    photograph of the hall-pass log, 3rd period (T. Reyes, 9:00 am)\n"
            "5    printout of laptop search history from district IT (T. Reyes, day 2)\n",
        ),
        NoteStep(
            days(2),
            PSYCH,
            RecordClass.COUNSELING,
            "Session with Tyler, 50 minutes. Flat, tired; describes the separation as 'the "
            "whole house blew up'. Suicide risk screening: passive thoughts in September, "
            "none now, no plan, protective factors his younger sister and his dog. Says the "
            "searches were 'to see how they got caught'. Agreed a safety plan with names and "
            "numbers. Parents agree to outside counseling; release signed for the clinic.",
            team_summary="Tyler engaged in the session and the suicide risk screening found "
            "no current risk. He has a written safety plan. Parents agreed to outpatient "
            "counseling at a community clinic; the referral is made with their consent.",
        ),
        PlanStep(
            days(3, 1),
            LEAD,
            owner=COUNSELOR,
            intervention=Intervention.SUPERVISION,
            description="Daily check-in with Tyler Brandt before first period: how he is, "
            "anything new at home or with classmates; tell Anna Lindqvist the same day of any "
            "worry.",
            due_in=days(21),
        ),
        PlanStep(
            days(3, 1),
            LEAD,
            owner=AP,
            intervention=Intervention.SCHEDULE_CHANGE,
            description="Out of 4th-period chemistry into the credit-recovery course; bag "
            "check on arrival.",
            due_in=days(2),
            done_after=days(1),
        ),
        PlanStep(
            days(3, 1),
            LEAD,
            owner=PSYCH,
            intervention=Intervention.MENTAL_HEALTH_REFERRAL,
            description="Outpatient counseling at Riverbend Family Counseling Center, with the "
            "parents' consent.",
            due_in=days(14),
        ),
        LogStep(
            days(4),
            COUNSELOR,
            item="Daily check-in",
            kind=LogKind.CHECK_IN,
            minutes=10,
            private_notes="Quiet, tired; slept at his father's. Asked about the wrestling "
            "team's schedule.",
            team_summary="Came to the check-in on time; calm; nothing new with classmates.",
        ),
        LogStep(
            days(8),
            COUNSELOR,
            item="Daily check-in",
            kind=LogKind.CHECK_IN,
            minutes=15,
            private_notes="Upset about a comment in the hallway, talked it through; says the "
            "clinic appointment is Thursday and he wants to go.",
            team_summary="A hallway comment upset him; he handled it and told me. Looking "
            "forward to the clinic appointment.",
        ),
        LogStep(
            days(12),
            COUNSELOR,
            item="Daily check-in",
            kind=LogKind.PARENT_CONTACT,
            minutes=20,
            private_notes="Phone with Lisa Brandt: sleeping better, eats with the family "
            "again; first clinic session kept.",
            team_summary="Mother reports better sleep and that the first clinic session was kept.",
        ),
        ReviewStep(
            days(9),
            LEAD,
            "Check-ins every school day, schedule change in place, clinic booked. Keep the "
            "plan and the level.",
        ),
        DisclosureStep(
            days(4),
            PSYCH,
            basis=DisclosureBasis.PARENT_CONSENT,
            recipient="Riverbend Family Counseling Center, intake coordinator "
            "(community mental-health clinic)",
            interest="Referral for outpatient counseling. Sent: the referral form, the team's "
            "summary of concerns and the safety plan. Release signed by both parents.",
        ),
        ReviewStep(
            days(17),
            LEAD,
            "Check-ins every school day, mood better; first clinic appointment kept. Keep the "
            "plan and the level for two more weeks.",
        ),
        NoteStep(
            days(17),
            LEAD,
            RecordClass.EDUCATION,
            "Weekly review: check-ins every school day, mood better; first appointment at the "
            "clinic kept. Passing the credit-recovery course so far. No concerning statements "
            "reported. Keep the plan and the level for two more weeks.",
        ),
    ),
)

PARENT_GUN = DemoCase(
    assessment=assessments.PARENT_GUN,
    school="CPMS",
    opened_ago=days(12),
    summary=(
        "In the CPMS cafeteria a 7th grader, Ethan Cruz, told two classmates that his dad "
        '"keeps a gun in the truck" and that he "could bring it if Mason and Aiden don\'t '
        'leave me alone". One of the classmates told Ms. Brooks, who reported it at once. '
        "The student's backpack and locker were checked the same hour: nothing found."
    ),
    subject=ETHAN,
    parties=(
        (Part.TARGET, MASON),
        (Part.TARGET, student("Aiden", "Park", "CPMS", 13, (10, 3), "3056978")),
        (Part.WITNESS, student("Lily", "Tran", "CPMS", 12, (7, 19), "3057355")),
        (Part.REPORTER, staff("Evelyn", "Brooks", "CPMS")),
        (Part.PARENT, other("Maria", "Cruz")),
        (Part.PARENT, other("Luis", "Cruz")),
    ),
    steps=(
        NoteStep(
            days(0, 2),
            LEAD,
            RecordClass.EDUCATION,
            "Screening: threat communicated (conditional), two classmates in fear, no "
            "imminent danger after the search. Ethan has a 504 plan (ADHD); its coordinator "
            "is told, and no removal is decided without a 504 review. Interview: Ethan says "
            "Mason and Aiden have mocked him in the locker room since September and took his "
            "shoes twice; he said it 'so they would leave me alone' and would never bring a "
            "gun. Lily confirms the words and says Ethan was close to tears. Mother informed "
            "in person.",
        ),
        NoteStep(
            days(0, 5),
            OFFICER,
            RecordClass.LAW_ENFORCEMENT,
            "Phone, then visit, with Luis Cruz. He owns a 9 mm pistol kept unloaded in the "
            "truck's glove box, not locked; Ethan rides in the truck daily. He moved it to a "
            "lock box at home in my presence and took a free cable lock from RPD's safe "
            "storage program. Keys on his key ring only.",
            team_summary="Father confirms a handgun was kept unlocked in his truck. It is now "
            "in a lock box at home, the key on his key ring; I saw it done.",
        ),
        NoteStep(
            days(1),
            TEACHER,
            RecordClass.EDUCATION,
            "Ethan is in my 2nd-period science. Since October he sits alone and keeps his "
            "hood up; twice I saw Mason flick his ear in line. He is careful and kind with "
            "the lab animals. I have not heard him talk about weapons.",
        ),
        NoteStep(
            days(2),
            PSYCH,
            RecordClass.COUNSELING,
            "Session with Ethan. Describes months of teasing, feels nobody acts on it. No "
            "suicidal thoughts (screened). Likes drawing and his cousin's band. Worked on "
            "what to do and whom to tell when it happens. Agreed to see the CPMS counselor "
            "weekly.",
            team_summary="Ethan describes sustained bullying and feeling unheard; no current "
            "suicide risk. He agreed to weekly counseling at school.",
        ),
        SupportPlanStep(days(0, 2), LEAD, plan=SupportPlan.SECTION_504),
        PlanStep(
            days(3, 1),
            LEAD,
            owner=TEACHER,
            intervention=Intervention.NO_CONTACT,
            aim=Aim.ENVIRONMENT,
            description="Seat Ethan away from Mason and Aiden in science and tell the team of "
            "any contact between them for the next three weeks.",
            due_in=days(21),
        ),
        PlanStep(
            days(3, 1),
            LEAD,
            owner=LEAD,
            intervention=Intervention.SPECIAL_EDUCATION_REVIEW,
            description="504 team review with the coordinator before any disciplinary decision.",
            due_in=days(10),
        ),
        PlanStep(
            days(3, 2),
            LEAD,
            owner=PSYCH,
            intervention=Intervention.SCHOOL_COUNSELING,
            description="Weekly counseling at school; what to do and whom to tell when the "
            "teasing happens.",
            due_in=days(5),
        ),
        PlanStep(
            days(3, 2),
            LEAD,
            owner=LEAD,
            intervention=Intervention.TARGET_SAFETY_PLAN,
            aim=Aim.TARGET,
            target="Reilly",
            description="Mason is told whom to go to; locker-room supervision at PE.",
            due_in=days(7),
            done_after=days(1),
        ),
    ),
)

SOCIAL_MEDIA = DemoCase(
    assessment=assessments.SOCIAL_MEDIA,
    school="CPMS",
    opened_ago=days(0, 5),
    summary=(
        "A parent emailed CPMS a screenshot of a story posted last night by an 8th grader, "
        'Wyatt Donnelly: a photo of what looks like a rifle on a bed, captioned "see yall at '
        'the game tonight. sit on the away side if you want to go home". Tonight is the RHS '
        "homecoming game, which many CPMS students attend."
    ),
    subject=student("Wyatt", "Donnelly", "CPMS", 13, (1, 17), "3055620"),
    parties=(
        (Part.REPORTER, other("Tanya", "Briggs")),
        (Part.WITNESS, student("Chloe", "Briggs", "CPMS", 13, (8, 8), "3055877")),
        (Part.PARENT, other("Sean", "Donnelly")),
    ),
    steps=(
        AttachmentStep(
            days(0, 0.5),
            LEAD,
            RecordClass.EDUCATION,
            "post-description.txt",
            "Description of the screenshot sent by Tanya Briggs (parent), 8:12 am\n"
            "App: photo-sharing story, visible to the account's followers for 24 hours\n"
            "Image: a black rifle with a scope lying on a bed with a blue blanket\n"
            'Caption: "see yall at the game tonight. sit on the away side if you want to go '
            'home"\n'
            "Posted: about 9:40 pm last night. The original screenshot is with Officer Reyes.\n",
        ),
        NoteStep(
            days(0, 1),
            LEAD,
            RecordClass.EDUCATION,
            "Immediate actions: Wyatt located in 2nd period at 9:05 and brought to the "
            "office; backpack and locker checked, nothing found. Superintendent's designee "
            "and both parents called; father on his way. Officer Reyes and RPD notified. "
            "Wyatt says it was 'a joke about the rivalry' and that the rifle is an airsoft "
            "gun belonging to his cousin. Not yet confirmed. He stays home tonight.",
        ),
        NoteStep(
            days(0, 2),
            TEACHER,
            RecordClass.EDUCATION,
            "Wyatt is in my 3rd period. Quiet, polite, no discipline. His grandfather died "
            "last month and he missed a week. Two friends told me this morning he has been "
            "'posting dark stuff' lately but they thought it was memes.",
        ),
        NoteStep(
            days(0, 4),
            OFFICER,
            RecordClass.LAW_ENFORCEMENT,
            "With RPD Ofc. Kim at the Donnelly home, 12:30. Father states there are no "
            "firearms in the home; consented to a look at Wyatt's room: none found. The "
            "cousin (17, lives across town) not yet reached; RPD will visit this evening to "
            "see the airsoft rifle. Screenshot preserved.",
            team_summary="No firearms found at Wyatt's home, with the father's consent. The "
            "rifle may be a cousin's airsoft replica; RPD will check this evening. Until then "
            "treat the picture as a real rifle.",
        ),
    ),
    grant=GrantStep(
        by=AP,
        threat="A CPMS 8th grader posted a photo of what may be a real rifle with a warning "
        "about tonight's RHS homecoming game; whether it is real is not confirmed yet. I run "
        "security at the game at 7 pm and need his identity, description and what has been "
        "done, to brief the gate staff and the officers on duty.",
        parties="Grace Chen (RHS assistant principal), the RHS event security staff and the "
        "RPD officers working tonight's game",
    ),
)

CASES = (CAFETERIA, STAFF_EMAIL, FORMER_STUDENT, BATHROOM_WALL, PARENT_GUN, SOCIAL_MEDIA)


# --------------------------------------------------------------------------- loading


def acting_as(ctx: ServiceContext, user: User, at: datetime) -> ServiceContext:
    """``ctx`` acting as the demo account ``user`` at time ``at``, as its sign-in would."""
    return replace(
        ctx,
        actor=actor_for(user, ""),
        audit_ctx=AuditContext(
            actor_id=user.id,
            actor_role=str(user.role),
            request_id=REQUEST_ID,
            client_address=None,
        ),
        now=at,
    )


@dataclass
class _Loader:
    ctx: ServiceContext
    district_id: int
    school_ids: dict[str, int]
    team_id: int
    users: dict[str, User] = field(default_factory=dict)
    subjects: dict[str, int] = field(default_factory=dict)
    # Plan items by (case number, the first words of their description), and those not done.
    items: dict[tuple[str, str], int] = field(default_factory=dict)
    open_items: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    def user(self, username: str) -> User:
        user = self.users.get(username)
        if user is None:
            user = accounts_repo.user_by_username(self.ctx.db, username)
            assert user is not None, username  # noqa: S101  (the demo made every account)
            self.users[username] = user
        return user

    def as_user(self, username: str, at: datetime) -> ServiceContext:
        """A context acting as the demo account ``username`` at time ``at``."""
        return acting_as(self.ctx, self.user(username), at)

    def do(self, username: str, at: datetime, use_case: Callable[[ServiceContext], Staged[T]]) -> T:
        """Run one use case as ``username`` at ``at`` and commit it, as the app would."""
        ctx = self.as_user(username, at)
        return carry_out(ctx, use_case(ctx))

    def load(self, demo: DemoCase) -> str:
        now = self.ctx.now
        opened = now - demo.opened_ago
        today = organisation.local_day(self.ctx, now)
        opened_case = self.do(
            demo.opened_by,
            opened,
            lambda ctx: opening.open_case(
                ctx,
                school_id=self.school_ids[demo.school],
                team_id=self.team_id,
                summary=demo.summary,
                subject=demo.subject.data(self.school_ids, today),
            ),
        )
        number = opened_case.number
        self.subjects[number] = opened_case.subject_id
        for part, person in demo.parties:
            self.do(
                demo.opened_by,
                opened,
                partial(
                    records.add_party,
                    number=number,
                    part=part,
                    person=person.data(self.school_ids, today),
                ),
            )
        # The plan's steps follow the determinations: they run in time order with them.
        for step in sorted(demo.steps, key=lambda s: s.after):
            if not isinstance(step, PLAN_STEPS):
                self.step(number, step, min(opened + step.after, now))
        if demo.grant is not None:
            grant = demo.grant
            self.do(
                grant.by,
                now,
                lambda ctx: emergency.request_grant(
                    ctx, number=number, threat=grant.threat, parties=grant.parties
                ),
            )
        self.assess(demo, number, opened)
        return number

    def step(self, number: str, step: Step, at: datetime) -> None:
        if isinstance(step, NoteStep):
            self.do(
                step.by,
                at,
                lambda ctx: records.add_note(
                    ctx,
                    number,
                    record_class=step.record_class,
                    body=step.body,
                    team_summary=step.team_summary,
                ),
            )
        elif isinstance(step, AttachmentStep):
            self.do(
                step.by,
                at,
                lambda ctx: records.add_attachment(
                    ctx,
                    number,
                    record_class=step.record_class,
                    filename=step.filename,
                    content_type="text/plain",
                    data=step.text.encode("utf-8"),
                ),
            )
        elif isinstance(step, PlanStep):
            self.plan(number, step, at)
        elif isinstance(step, LogStep):
            item_id = self.items[(number, step.item)]
            self.do(
                step.by,
                at,
                lambda ctx: log.add_entry(
                    ctx,
                    number,
                    item_id,
                    log.LogData(
                        held_on=organisation.local_day(ctx, at),
                        minutes=step.minutes,
                        kind=step.kind,
                        private_notes=step.private_notes,
                        team_summary=step.team_summary,
                    ),
                ),
            )
        elif isinstance(step, ReviewStep):
            self.do(
                step.by, at, lambda ctx: reviews.record_review(ctx, number, changes=step.changes)
            )
        elif isinstance(step, SupportPlanStep):
            self.do(
                step.by, at, lambda ctx: plan_items.set_support_plan(ctx, number, plan=step.plan)
            )
        elif isinstance(step, MemberStep):
            self.do(
                step.by,
                at,
                lambda ctx: team.add_member(ctx, number, user_id=self.user(step.member).id),
            )
        elif isinstance(step, DisclosureStep):
            subject_id = self.subjects[number]
            self.do(
                step.by,
                at,
                lambda ctx: disclosures.record_disclosure(
                    ctx,
                    subject_id,
                    basis=step.basis,
                    recipient=step.recipient,
                    interest=step.interest,
                    disclosed_at=at,
                    case_number=number,
                ),
            )
        else:  # pragma: no cover - a step type added without its loader
            raise TypeError(type(step).__name__)

    def assess(self, demo: DemoCase, number: str, opened: datetime) -> None:
        """Facts, answers, determinations with each confirmation, notices and later moves,
        in time order, each as the account that would do it."""
        plan = demo.assessment
        events: list[tuple[timedelta, int, object]] = []
        events += [(f.after, 0, f) for f in plan.facts]
        answered = (plan.determinations[0].after if plan.determinations else days(1)) - days(0, 1)
        # An answer comes after the facts it cites.
        events += [
            (max([answered, *(plan.facts[i - 1].after + days(0, 0.5) for i in a.facts)]), 1, a)
            for a in plan.answers
        ]
        events += [(d.after, 2, d) for d in plan.determinations]
        events += [(n.after, 3, n) for n in plan.notices]
        events += [(m.after, 4, m) for m in plan.moves]
        events += [(s.after, 5, s) for s in demo.steps if isinstance(s, PLAN_STEPS)]
        fact_ids: list[int] = []
        for after, _order, item in sorted(events, key=lambda e: (e[0], e[1])):
            when = min(opened + after, self.ctx.now)
            if isinstance(item, DemoFact):
                fact_ids.append(self.add_fact(number, item, when))
            elif isinstance(item, DemoAnswer):
                self.do(
                    LEAD,
                    when,
                    partial(
                        answers.answer_question,
                        number=number,
                        question_key=item.question,
                        value=item.value,
                        note=item.note,
                        facts=[fact_ids[i - 1] for i in item.facts],
                    ),
                )
            elif isinstance(item, DemoDetermination):
                self.determine(number, item, when, fact_ids, opened)
            elif isinstance(item, DemoNotice):
                self.do(
                    LEAD,
                    when,
                    partial(
                        notices.record_notice,
                        number=number,
                        kind=item.kind,
                        recipient=item.recipient,
                        given_at=when,
                        method=item.method,
                        reached=item.reached,
                        note=item.note,
                    ),
                )
            elif isinstance(item, DemoMove):
                self.move(number, item, when)
            elif isinstance(item, Step):
                self.step(number, item, when)

    def plan(self, number: str, step: PlanStep, at: datetime) -> None:
        """Add a plan item (its target found among the case's parties), and finish it."""
        target = None
        if step.target is not None:
            ctx = self.as_user(step.by, at)
            case_id = guard.load_case(ctx, number).case.id
            target = next(
                party.id
                for party, person in case_repo.parties(ctx.db, case_id)
                if party.part is Part.TARGET and person.family_name == step.target
            )
        item_id = self.do(
            step.by,
            at,
            lambda ctx: plan_items.add_item(
                ctx,
                number,
                plan_items.ItemData(
                    intervention=step.intervention,
                    description=step.description,
                    aim=step.aim,
                    owner_id=self.user(step.owner).id,
                    due_on=organisation.local_day(self.ctx, at + step.due_in),
                    target_party_id=target,
                ),
            ),
        )
        self.items[(number, step.description.split(" ", 2)[0])] = item_id
        self.items[(number, " ".join(step.description.split(" ", 2)[:2]))] = item_id
        self.open_items.setdefault(number, []).append((item_id, step.owner))
        if step.done_after is not None:
            self.finish(number, item_id, step.owner, min(at + step.done_after, self.ctx.now))

    def finish(self, number: str, item_id: int, owner: str, at: datetime) -> None:
        self.do(
            owner,
            at,
            lambda ctx: plan_items.set_status(ctx, number, item_id, status=ItemStatus.DONE),
        )
        self.open_items[number].remove(
            next(pair for pair in self.open_items[number] if pair[0] == item_id)
        )

    def move(self, number: str, move: DemoMove, when: datetime) -> None:
        """A later move: the plan's last items done bring monitoring; a closure is reasoned."""
        if move.move is Transition.BEGIN_MONITORING:
            for item_id, owner in list(self.open_items.get(number, [])):
                self.finish(number, item_id, owner, when)
            return
        if move.move is Transition.CLOSE:
            self.do(
                LEAD,
                when,
                lambda ctx: closure.close_case(
                    ctx,
                    number,
                    rationale=move.reason,
                    final_review=move.final_review or move.reason,
                ),
            )
            return
        self.do(
            LEAD,
            when,
            lambda ctx: lifecycle.transition(
                ctx, guard.load_case(ctx, number, Act.MANAGE_CASE), move.move, reason=move.reason
            ),
        )

    def add_fact(self, number: str, fact: DemoFact, when: datetime) -> int:
        ctx = self.as_user(fact.by, when)
        interviewee = None
        if fact.interviewee is not None:
            loaded = guard.load_case(ctx, number)
            wanted = fact.interviewee
            interviewee = next(
                party.id
                for party, person in case_repo.parties(ctx.db, loaded.case.id)
                if f"{person.family_name} {person.given_name}" == wanted
            )
        return carry_out(
            ctx,
            facts.add_fact(
                ctx,
                number,
                facts.FactData(
                    source=fact.source,
                    learned_on=organisation.local_day(ctx, when),
                    statement=fact.statement,
                    record_class=fact.record_class,
                    gathered_by=self.user(fact.by).id,
                    interviewee_party_id=interviewee,
                    corroborated=fact.corroborated_by is not None,
                    corroboration=fact.corroborated_by or "",
                    team_summary=fact.team_summary or "",
                ),
            ),
        )

    def determine(
        self,
        number: str,
        item: DemoDetermination,
        when: datetime,
        fact_ids: list[int],
        opened: datetime,
    ) -> None:
        """Recorded by the lead with its participants; each confirms later, as itself."""
        determination = self.do(
            LEAD,
            when,
            lambda ctx: determinations.record_determination(
                ctx,
                number,
                determinations.DeterminationData(
                    classification=item.classification,
                    level=item.level,
                    rationale=item.rationale,
                    facts=[fact_ids[i - 1] for i in item.facts],
                    participants=[self.user(p).id for p in item.participants],
                ),
            ),
        )
        waits = sorted(
            ((after, who) for who, after in item.confirmed_after.items() if after is not None),
            key=lambda pair: pair[0],
        )
        for after, who in waits:
            self.do(
                who,
                min(when + after, self.ctx.now),
                lambda ctx: determinations.respond(ctx, number, determination, confirm=True),
            )


def load_cases(
    ctx: ServiceContext, *, district_id: int, school_ids: dict[str, int], team_id: int
) -> tuple[str, ...]:
    """Load the demo cases into a district that has no case yet; return their numbers.

    ``ctx`` is the system's context: each step acts as the demo account that does it.

    :raises AuditUnavailable: when a step cannot be recorded (the steps before it stay).
    """
    if case_repo.count_in_district(ctx.db, district_id):
        return ()
    loader = _Loader(ctx, district_id, school_ids, team_id)
    return tuple(loader.load(demo) for demo in sorted(CASES, key=lambda c: -c.opened_ago))
