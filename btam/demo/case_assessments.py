"""The demo cases' assessments: the facts the team gathered, the questions it answered from
them, the determinations it recorded and each participant confirmed, the notices it gave.

All invented. The loader (``btam.demo.cases``) writes them through the assessment services,
each step as the demo account that would do it; the cases take their status and level from
these determinations, never from a direct write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from btam.access.record_classes import RecordClass
from btam.assessment.terms import FactSource, Method, NoticeKind
from btam.cases.lifecycle import Transition

LEAD = "lead.okafor"
PSYCH = "psych.lindqvist"
OFFICER = "sro.reyes"
AP = "ap.chen"
TEACHER = "teacher.haddad"
RHS_TEAM = (PSYCH, OFFICER, AP)
CPMS_TEAM = (PSYCH, OFFICER, TEACHER)


def days(n: float, hours: float = 0) -> timedelta:
    return timedelta(days=n, hours=hours)


@dataclass(frozen=True)
class DemoFact:
    after: timedelta
    by: str
    source: FactSource
    statement: str
    # For an interview: the family and given name of the person interviewed (a party).
    interviewee: str | None = None
    record_class: RecordClass = RecordClass.EDUCATION
    corroborated_by: str | None = None
    team_summary: str | None = None


@dataclass(frozen=True)
class DemoAnswer:
    question: str
    value: str
    note: str = ""
    facts: tuple[int, ...] = ()  # positions in the case's facts, from 1


@dataclass(frozen=True)
class DemoDetermination:
    after: timedelta
    classification: str
    level: str
    rationale: str
    facts: tuple[int, ...]
    participants: tuple[str, ...]
    # How long after recording each participant confirmed; None: still waiting for them.
    confirmed_after: dict[str, timedelta | None]


@dataclass(frozen=True)
class DemoNotice:
    after: timedelta
    kind: NoticeKind
    recipient: str
    method: Method
    reached: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class DemoMove:
    """A transition the lead makes by hand later (monitoring, closure), with its reason."""

    after: timedelta
    move: Transition
    reason: str
    # A closure's final review (where each part of the plan ended); the reason if empty.
    final_review: str = ""


@dataclass(frozen=True)
class DemoAssessment:
    facts: tuple[DemoFact, ...] = ()
    answers: tuple[DemoAnswer, ...] = ()
    determinations: tuple[DemoDetermination, ...] = ()
    notices: tuple[DemoNotice, ...] = ()
    moves: tuple[DemoMove, ...] = ()


CAFETERIA = DemoAssessment(
    facts=(
        DemoFact(
            days(0, 2),
            AP,
            FactSource.INTERVIEW_SUBJECT,
            "Tyler says he meant he would make Owen pay for the cracked screen; he was "
            "embarrassed in front of friends and 'said something stupid'. He apologised to "
            "Owen in the office without being asked.",
            interviewee="Brandt Tyler",
        ),
        DemoFact(
            days(0, 2),
            AP,
            FactSource.INTERVIEW_TARGET,
            "Owen says he was startled but is not afraid of Tyler; he wants the phone sorted out.",
            interviewee="Pike Owen",
        ),
        DemoFact(
            days(0, 3),
            LEAD,
            FactSource.INTERVIEW_WITNESS,
            "The lunch supervisor heard 'you're dead after school' and saw Tyler calm down "
            "within minutes; nothing was thrown.",
            interviewee="Farrow Denise",
            corroborated_by="Two students at the next table, asked separately.",
        ),
        DemoFact(
            days(0, 4),
            LEAD,
            FactSource.INTERVIEW_PARENT,
            "His mother: no firearms in her home; she will pay half of the repair.",
            interviewee="Brandt Lisa",
        ),
        DemoFact(
            days(0, 5),
            LEAD,
            FactSource.RECORD_REVIEW,
            "No earlier discipline for fights or threats; grades steady this year.",
        ),
    ),
    answers=(
        DemoAnswer("motives", "yes", "Anger and embarrassment over a broken phone.", (1,)),
        DemoAnswer("communications", "yes", "One statement, retracted at once.", (1, 3)),
        DemoAnswer("inappropriate_interest", "no", "", (5,)),
        DemoAnswer("planning", "no", "No plan or preparation found.", (1, 3)),
        DemoAnswer("weapons_access", "no", "", (4,)),
        DemoAnswer("consistency", "yes", "Apologised and calmed down at once.", (1, 3)),
        DemoAnswer("concerned_others", "no", "The target is not afraid.", (2,)),
        DemoAnswer("school_engagement", "yes", "", (5,)),
    ),
    determinations=(
        DemoDetermination(
            days(1),
            "transient",
            "low",
            "An expression of anger with no intent to harm, retracted at once; the conflict "
            "over the phone is settled. Plan: a restorative conversation between the two "
            "boys, and weekly check-ins with Ms. Chen for a month.",
            (1, 2, 3, 4),
            RHS_TEAM,
            {PSYCH: days(0, 1), OFFICER: days(0, 2), AP: days(0, 1)},
        ),
    ),
    moves=(
        DemoMove(
            days(41),
            Transition.CLOSE,
            "The restorative conversation took place on day 3 and both boys kept to the "
            "agreement; four check-ins, nothing new. Mother informed.",
            final_review="Restorative conversation held and kept; four weekly check-ins done, "
            "no new conflict and no further reports. Nothing left open.",
        ),
    ),
)

STAFF_EMAIL = DemoAssessment(
    facts=(
        DemoFact(
            days(0, 1),
            LEAD,
            FactSource.RECORD_REVIEW,
            "The email, sent at 11:48 pm, ends: 'Enjoy it while it lasts. People like you never "
            "see it coming until it is too late. I have nothing left to lose now.'",
        ),
        DemoFact(
            days(0, 2),
            LEAD,
            FactSource.INTERVIEW_TEACHER,
            "Colleagues describe him as proud and well liked, recently separated, and crushed "
            "by losing the team he coached for twelve years; no earlier complaints in his "
            "personnel file (HR director).",
            interviewee="Bell Marcus",
        ),
        DemoFact(
            days(1),
            OFFICER,
            FactSource.WEAPONS_ACCESS,
            "Welfare check with RPD: he owns two shotguns and a handgun and agreed to leave "
            "them with his brother, who collected them in our presence. Says he meant legal "
            "action. RPD 26-11873.",
            record_class=RecordClass.LAW_ENFORCEMENT,
            team_summary="Owns firearms; they are now with his brother, which we witnessed. "
            "Cooperative and remorseful; no charge.",
        ),
        DemoFact(
            days(1, 3),
            LEAD,
            FactSource.INTERVIEW_TARGET,
            "The principal is shaken; campus security walks her to her car this week.",
            interviewee="Ostrowski Helen",
        ),
    ),
    answers=(
        DemoAnswer("motives", "yes", "Grievance over his removal as coach.", (1, 2)),
        DemoAnswer("communications", "yes", "A veiled threat in writing.", (1,)),
        DemoAnswer("weapons_access", "yes", "Owned; now held by his brother.", (3,)),
        DemoAnswer("stressors", "yes", "Separation, loss of the team.", (2,)),
        DemoAnswer("planning", "no", "No plan or rehearsal found.", (3,)),
        DemoAnswer("concerned_others", "yes", "", (4,)),
    ),
    determinations=(
        DemoDetermination(
            days(2),
            "substantive_serious",
            "moderate",
            "A veiled threat from an employee under heavy losses, with access to firearms, "
            "but no plan, no rehearsal and strong ties to his work and family. Plan: Employee "
            "Assistance referral; fitness-for-duty evaluation before any return; no contact "
            "with the principal except with HR present.",
            (1, 2, 3, 4),
            RHS_TEAM,
            {PSYCH: days(0, 2), OFFICER: days(0, 3), AP: days(0, 1)},
        ),
    ),
    moves=(
        DemoMove(
            days(34),
            Transition.BEGIN_MONITORING,
            "Cleared to return with conditions; weekly check-ins with Ms. Chen; review every "
            "14 days.",
        ),
    ),
)

FORMER_STUDENT = DemoAssessment(
    facts=(
        DemoFact(
            days(0, 3),
            AP,
            FactSource.RECORD_REVIEW,
            "Eleven messages over nine days, shown by Kayla; none mentions a weapon, several "
            "say he 'just wants to talk'; one says 'you can't hide at school forever'.",
        ),
        DemoFact(
            days(0, 3),
            AP,
            FactSource.INTERVIEW_WITNESS,
            "Brianna saw him twice in a grey hatchback in the student lot at dismissal.",
            interviewee="Soto Brianna",
        ),
        DemoFact(
            days(1),
            TEACHER,
            FactSource.OTHER,
            "Talked with his mother, whom I know from CPMS: he lost his job in the summer, "
            "lives with her and is 'not himself'; no weapons at home that she knows of.",
        ),
        DemoFact(
            days(2),
            OFFICER,
            FactSource.WEAPONS_ACCESS,
            "No firearms registered to him or the household. No-trespass notice served and signed.",
            record_class=RecordClass.LAW_ENFORCEMENT,
            team_summary="No firearms on record; no-trespass notice served and acknowledged.",
        ),
        DemoFact(
            days(27),
            AP,
            FactSource.OBSERVATION,
            "No messages and no sightings for three and a half weeks (front office, patrol, "
            "Kayla).",
        ),
    ),
    answers=(
        DemoAnswer("communications", "yes", "Messages to the target.", (1,)),
        DemoAnswer("planning", "yes", "Knows her schedule; waited in the lot twice.", (1, 2)),
        DemoAnswer("weapons_access", "no", "", (4,)),
        DemoAnswer("stressors", "yes", "Job loss, the end of the relationship.", (3,)),
        DemoAnswer("consistency", "yes", "Has kept away since the notice.", (5,)),
    ),
    determinations=(
        DemoDetermination(
            days(2, 2),
            "substantive_serious",
            "moderate",
            "Fixation on a former partner with approach behaviour at school, under losses; no "
            "weapon. Safety plan for Kayla, no-trespass notice, patrol at dismissal.",
            (1, 2, 3, 4),
            RHS_TEAM,
            {PSYCH: days(0, 1), OFFICER: days(0, 1), AP: days(0, 2)},
        ),
        DemoDetermination(
            days(28),
            "substantive_serious",
            "low",
            "No contact for three and a half weeks; the escort stopped at Kayla's request. "
            "Level lowered; monitor for 30 days or at once if he contacts her.",
            (5,),
            RHS_TEAM,
            {PSYCH: days(0, 2), OFFICER: days(0, 1), AP: days(0, 1)},
        ),
    ),
    moves=(
        DemoMove(
            days(28, 4),
            Transition.BEGIN_MONITORING,
            "Safety plan items done; review in 30 days or at once if he contacts her.",
        ),
    ),
)

BATHROOM_WALL = DemoAssessment(
    facts=(
        DemoFact(
            days(0, 1),
            LEAD,
            FactSource.OBSERVATION,
            "Written in black marker in stall 3 of the B-wing boys' restroom: '4TH PERIOD "
            "CHEM - FRIDAY YOU ALL SEE. NOBODY LEAVES.' Found by the custodian at 7:05 am.",
            corroborated_by="Photographs 1-3 in the officer's evidence log.",
        ),
        DemoFact(
            days(0, 3),
            LEAD,
            FactSource.INTERVIEW_SUBJECT,
            "With his father present Tyler admits writing it during 3rd period: he is failing "
            "chemistry, felt laughed at, and 'wanted them to feel scared for once'. Denies a "
            "plan.",
            interviewee="Brandt Tyler",
        ),
        DemoFact(
            days(0, 3),
            AP,
            FactSource.INTERVIEW_WITNESS,
            "Sofia heard him tell two boys at lunch last week that 'something is going to "
            "happen in chem'.",
            interviewee="Marquez Sofia",
        ),
        DemoFact(
            days(0, 4),
            AP,
            FactSource.INTERVIEW_TEACHER,
            "Ms. Whitfield never reads grades aloud; he sleeps in class and wears the same "
            "hoodie every day.",
            interviewee="Whitfield Karen",
        ),
        DemoFact(
            days(1),
            OFFICER,
            FactSource.WEAPONS_ACCESS,
            "Father keeps two hunting rifles in a garage safe Tyler has seen opened; the code "
            "was changed in my presence and ammunition moved to his brother's house.",
            record_class=RecordClass.LAW_ENFORCEMENT,
            team_summary="Rifles at the father's home, now secured and the ammunition moved "
            "off-site; none at the mother's.",
        ),
        DemoFact(
            days(1, 1),
            OFFICER,
            FactSource.RECORD_REVIEW,
            "His school laptop shows searches about a past school shooting two weeks ago.",
            record_class=RecordClass.LAW_ENFORCEMENT,
            team_summary="Laptop searches about a past school shooting, two weeks ago.",
        ),
        DemoFact(
            days(2),
            PSYCH,
            FactSource.INTERVIEW_SUBJECT,
            "Suicide risk screening: passive thoughts in September, none now, no plan; "
            "protective factors his sister and his dog. Safety plan written.",
            interviewee="Brandt Tyler",
            record_class=RecordClass.COUNSELING,
            team_summary="No current suicide risk; a written safety plan; parents agree to "
            "outside counseling.",
        ),
    ),
    answers=(
        DemoAnswer("motives", "yes", "Humiliation and failure in chemistry.", (2, 4)),
        DemoAnswer("communications", "yes", "The wall, and words at lunch.", (1, 3)),
        DemoAnswer("inappropriate_interest", "yes", "Searches about a past attack.", (6,)),
        DemoAnswer("planning", "unknown", "Denies a plan; named a class and a day.", (1, 2)),
        DemoAnswer("weapons_access", "yes", "Rifles at the father's, now secured.", (5,)),
        DemoAnswer("desperation", "no", "Screened: no current risk.", (7,)),
        DemoAnswer("stressors", "yes", "Parents separated; cut from wrestling.", (2,)),
        DemoAnswer("concerned_others", "yes", "A classmate heard him.", (3,)),
        DemoAnswer("trusted_adult", "yes", "Talks to the psychologist.", (7,)),
    ),
    determinations=(
        DemoDetermination(
            days(3),
            "substantive_serious",
            "high",
            "A threat to a named class with an interest in a past attack, grievances and "
            "possible access to rifles, though no plan was found. Plan: out of 4th-period "
            "chemistry, bag check on arrival, daily check-in with Ms. Ng, community "
            "mental-health referral, weekly team review.",
            (1, 2, 3, 4),
            RHS_TEAM,
            {PSYCH: days(0, 1), OFFICER: days(0, 1), AP: days(0, 2)},
        ),
    ),
    notices=(
        DemoNotice(
            days(3, 1),
            NoticeKind.SUPERINTENDENT,
            "Dr. Laura Whitman, deputy superintendent (designee)",
            Method.PHONE,
            note="Told of the determination and the plan the same day.",
        ),
        DemoNotice(
            days(3, 1),
            NoticeKind.PARENT,
            "Lisa and Greg Brandt",
            Method.IN_PERSON,
            reached=True,
            note="Both present at the meeting; plan explained.",
        ),
    ),
)

PARENT_GUN = DemoAssessment(
    facts=(
        DemoFact(
            days(0, 2),
            LEAD,
            FactSource.INTERVIEW_SUBJECT,
            "Ethan says Mason and Aiden have mocked him in the locker room since September "
            "and took his shoes twice; he said it 'so they would leave me alone' and would "
            "never bring a gun.",
            interviewee="Cruz Ethan",
        ),
        DemoFact(
            days(0, 2),
            LEAD,
            FactSource.INTERVIEW_WITNESS,
            "Lily confirms the words and that Ethan was close to tears.",
            interviewee="Tran Lily",
        ),
        DemoFact(
            days(0, 5),
            OFFICER,
            FactSource.WEAPONS_ACCESS,
            "Father kept a 9 mm pistol unloaded and unlocked in the truck's glove box; moved "
            "to a lock box at home in my presence, key on his ring.",
            record_class=RecordClass.LAW_ENFORCEMENT,
            team_summary="A handgun was kept unlocked in the truck; now in a lock box at "
            "home, which I saw.",
        ),
        DemoFact(
            days(1),
            TEACHER,
            FactSource.OBSERVATION,
            "In 2nd-period science he sits alone with his hood up; twice I saw Mason flick his "
            "ear in line.",
        ),
        DemoFact(
            days(1, 1),
            LEAD,
            FactSource.RECORD_REVIEW,
            "504 plan (ADHD) on file; no discipline this year.",
        ),
    ),
    answers=(
        DemoAnswer("motives", "yes", "To make the bullying stop.", (1, 4)),
        DemoAnswer("communications", "yes", "A conditional threat.", (1, 2)),
        DemoAnswer("weapons_access", "yes", "Now secured.", (3,)),
        DemoAnswer("planning", "no", "", (1,)),
        DemoAnswer("stressors", "yes", "Sustained bullying.", (1, 4)),
        DemoAnswer("violence_acceptable", "no", "", (1,)),
    ),
    determinations=(
        DemoDetermination(
            days(3),
            "substantive_serious",
            "moderate",
            "A conditional threat with access to a firearm, now secured; no plan. Plan: a "
            "bullying investigation, no-contact agreements and changed seating, weekly "
            "counseling, a parent conference with the 504 coordinator.",
            (1, 2, 3, 4),
            CPMS_TEAM,
            {PSYCH: days(0, 2), OFFICER: days(0, 1), TEACHER: days(0, 3)},
        ),
    ),
    notices=(
        DemoNotice(
            days(3, 2),
            NoticeKind.SUPERINTENDENT,
            "Dr. Laura Whitman, deputy superintendent (designee)",
            Method.EMAIL,
        ),
        DemoNotice(
            days(3, 2),
            NoticeKind.PARENT,
            "Maria Cruz",
            Method.IN_PERSON,
            reached=True,
            note="Told of the determination at the parent conference.",
        ),
    ),
)

SOCIAL_MEDIA = DemoAssessment(
    facts=(
        DemoFact(
            days(0, 0.5),
            LEAD,
            FactSource.SOCIAL_MEDIA,
            "Story posted about 9:40 pm: a black rifle with a scope on a bed, captioned 'see "
            "yall at the game tonight. sit on the away side if you want to go home'.",
            corroborated_by="The screenshot a parent sent, kept by Officer Reyes.",
        ),
        DemoFact(
            days(0, 1),
            LEAD,
            FactSource.INTERVIEW_SUBJECT,
            "Wyatt says it was 'a joke about the rivalry' and that the rifle is his cousin's "
            "airsoft gun. Not yet confirmed.",
            interviewee="Donnelly Wyatt",
        ),
        DemoFact(
            days(0, 2),
            TEACHER,
            FactSource.OBSERVATION,
            "Quiet and polite, no discipline; his grandfather died last month. Friends say he "
            "has been 'posting dark stuff' lately.",
        ),
        DemoFact(
            days(0, 4),
            OFFICER,
            FactSource.WEAPONS_ACCESS,
            "No firearms found at the Donnelly home (father's consent); the cousin not yet "
            "reached.",
            record_class=RecordClass.LAW_ENFORCEMENT,
            team_summary="No firearms at home; the rifle may be a cousin's replica, checked "
            "this evening.",
        ),
    ),
    answers=(
        DemoAnswer("communications", "yes", "A public post naming tonight's game.", (1,)),
        DemoAnswer("weapons_access", "unknown", "The cousin is not reached yet.", (4,)),
        DemoAnswer("stressors", "yes", "His grandfather died last month.", (3,)),
    ),
    determinations=(
        DemoDetermination(
            days(0, 4.5),
            "substantive_serious",
            "high",
            "A public threat naming tonight's game with a picture of what may be a real rifle; "
            "until the cousin's airsoft gun is seen, treat it as real. He stays home tonight.",
            (1, 2, 4),
            CPMS_TEAM,
            {PSYCH: days(0, 0.2), OFFICER: None, TEACHER: None},
        ),
    ),
    # The parents were called that morning, but the attempt is not recorded yet: the case
    # shows it as outstanding.
    notices=(
        DemoNotice(
            days(0, 4.6),
            NoticeKind.SUPERINTENDENT,
            "Dr. Laura Whitman, deputy superintendent (designee)",
            Method.PHONE,
            note="Told of the post, the search and the preliminary determination.",
        ),
    ),
)
