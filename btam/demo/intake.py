"""The demo's intake: what reached the Riverbend team through its reports and its tip line.

Everyone named here is invented. Staff reports are submitted by the demo accounts that saw or
heard of it (the teachers Evelyn Brooks and Samir Haddad, the assistant principal, the
counselor and the school resource officer), each through its channel; anonymous tips come in
with no account and no client address, as through the public tip page. The team then works
them as it would: the lead acknowledges an imminent-danger alert and records the immediate
actions, reads each report before deciding, and triages it into a new case, into an existing
demo case, to the suicide-risk protocol, or out as "no threat" with the reason and what was
done instead; the psychologist answers a tipster.

Each step runs through the intake and triage services at the time it happened (the context's
``now``), so received, due (one school day later), acknowledged, recorded and triaged times
read as days of work and the queue shows ages: two reports wait past their due time. One
imminent-danger report came in minutes ago and is left unacknowledged: every page of the
team members whose schools it concerns carries the red alert until one of them takes it.

Intake is loaded only into a district with no report yet: running ``btam demo`` again adds
nothing. It runs after the demo cases (:mod:`btam.demo_cases`): one report joins the former
student's case, found in the report's history by blind index, as the lead would find it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from btam.access.record_classes import RecordClass
from btam.accounts import repository as accounts_repo
from btam.accounts.models import User
from btam.accounts.services import organisation
from btam.audit.context import AuditContext
from btam.cases.services import records
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext, Staged, carry_out
from btam.demo.cases import (
    AP,
    COUNSELOR,
    DYLAN,
    ETHAN,
    KAYLA,
    LEAD,
    MASON,
    OFFICER,
    OWEN,
    PSYCH,
    REQUEST_ID,
    TEACHER,
    TYLER,
    DemoPerson,
    acting_as,
    days,
    staff,
    student,
)
from btam.files import Upload
from btam.intake import repository as intake_repo
from btam.intake.services import reports, tips, triage
from btam.intake.services.reports import PersonEntry, ReportData
from btam.intake.services.tips import TipData
from btam.intake.terms import Channel, ImmediateAction, NoThreatAction, TipCategory, TriageOutcome
from btam.people.terms import Part

BROOKS = "teacher.brooks"

T = TypeVar("T")


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


# --------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class Screening:
    """The triage screening questions: True, False or None (not yet known)."""

    imminent: bool | None = None
    threat_communicated: bool | None = None
    someone_in_fear: bool | None = None
    has_plan: bool | None = None
    manageable_under_plan: bool | None = None

    def answers(self) -> dict[str, bool | None]:
        return {name: getattr(self, name.removeprefix("screen_")) for name, _ in triage.SCREENING}


@dataclass(frozen=True)
class Triage:
    """The decision on a report, ``after`` it was received, by the account ``by``."""

    after: timedelta
    by: str
    outcome: TriageOutcome
    screening: Screening
    reason: str = ""
    no_threat_action: NoThreatAction | None = None
    summary: str = ""  # opened_case: the new case's summary
    # added_to_case: the open case of the report's people, as their history shows it; and an
    # education note the triager then writes on that case.
    case_note: str = ""


@dataclass(frozen=True)
class RecordedAction:
    """An immediate action recorded on the report by the team, times after its receipt."""

    action: ImmediateAction
    taken_by: str
    taken: timedelta
    recorded: timedelta


@dataclass(frozen=True)
class Alert:
    """The imminent-danger alert acknowledged by ``by``, and the actions the team recorded."""

    by: str
    after: timedelta
    actions: tuple[RecordedAction, ...] = ()


@dataclass(frozen=True)
class DemoReport:
    """A report submitted ``ago`` by the demo account ``by``."""

    ago: timedelta
    by: str
    school: str
    channel: Channel
    occurred: str
    location: str
    narrative: str
    people: tuple[tuple[Part, DemoPerson], ...] = ()
    attachment: tuple[str, str] | None = None  # a text file: name, content
    confidential: bool = False
    imminent: bool = False
    # Ticked on the form when submitting, with the form's one "who took these actions".
    actions: tuple[ImmediateAction, ...] = ()
    actions_by: str = ""
    alert: Alert | None = None
    triage: Triage | None = None


@dataclass(frozen=True)
class Message:
    """One message of a tip's conversation, ``after`` the tip; ``by`` answers for the team."""

    after: timedelta
    body: str
    by: str | None = None  # None: the tipster, with its follow-up code


@dataclass(frozen=True)
class DemoTip:
    """An anonymous tip received ``ago``."""

    ago: timedelta
    school: str
    category: TipCategory
    what: str
    who: str = ""
    where: str = ""
    when: str = ""
    messages: tuple[Message, ...] = ()
    triage: Triage | None = None


# People first named by the reports. Mason, Ethan, Tyler, Owen, Dylan and Kayla come from the
# demo cases: the reports find them again by student id, or by name and date of birth.
ELI = student("Eli", "Warren", "CPMS", 11, (10, 30), "3058803")
TOBIAS = student("Tobias", "Kent", "CPMS", 11, (3, 4), "3058790")
REID = student("Reid", "Pratt", "CPMS", 11, (7, 22), "3058867")
NOAH = student("Noah", "Castellano", "CPMS", 12, (12, 1), "3057512")
BELLA = student("Bella", "Ortiz", "CPMS", 12, (4, 9), "3057468")
ZOE = student("Zoe", "Harmon", "CPMS", 13, (9, 14), "3057390")
MARCUS = student("Marcus", "Tate", "CPMS", 13, (2, 26), "3055981")
DEVON = student("Devon", "Price", "CPMS", 13, (6, 3), "3056114")
AVA = student("Ava", "Lindgren", "CPMS", 12, (11, 17), "3057240")

RECESS = DemoReport(
    ago=days(9),
    by=TEACHER,
    school="CPMS",
    channel=Channel.STAFF,
    occurred="Lunch recess",
    location="CPMS back field",
    narrative=(
        "During a dodgeball game at recess Eli Warren (6th grade) was hit out by Tobias Kent "
        'and shouted "I\'m going to kill you, Tobias!" Both boys were laughing; Eli went to '
        "the wall and the game went on. I was on recess duty about ten metres away. I report "
        "it because a group of 4th graders waiting for the field heard it and looked scared."
    ),
    people=((Part.SUBJECT, ELI), (Part.TARGET, TOBIAS)),
    triage=Triage(
        after=days(0, 3),
        by=LEAD,
        outcome=TriageOutcome.NO_THREAT,
        screening=Screening(
            imminent=False, threat_communicated=False, someone_in_fear=False, has_plan=False
        ),
        reason="A figure of speech in a game. Eli and Tobias are friends, both were laughing, "
        "and Tobias says he took it as a joke. No intent to harm, no plan, no earlier threat "
        "or fight, no one afraid of Eli. Mr. Haddad talked with the younger students who "
        "overheard it. The CPMS counselor sees Eli this week about words that frighten "
        "people at school.",
        no_threat_action=NoThreatAction.COUNSELOR,
    ),
)

VAPING = DemoTip(
    ago=days(6, 2),
    school="RHS",
    category=TipCategory.DRUGS,
    what="People vape in the C-wing bathroom every lunch and a senior is selling THC "
    "cartridges there out of his backpack. Freshmen are buying them.",
    who="A senior, tall, blue backpack with patches on it. I don't know his name.",
    where="C-wing boys' bathroom",
    when="Every day at lunch",
    triage=Triage(
        after=days(0, 16),
        by=LEAD,
        outcome=TriageOutcome.NO_THREAT,
        screening=Screening(imminent=False, threat_communicated=False, someone_in_fear=False),
        reason="Drug use and a possible sale at school, with no threat of violence to anyone: "
        "not a matter for threat assessment. Passed to Assistant Principal Grace Chen to "
        "handle under the code of conduct; the C-wing restroom is checked at every lunch "
        "from now on.",
        no_threat_action=NoThreatAction.DISCIPLINE,
    ),
)

LUNCH_VIDEOS = DemoTip(
    ago=days(5),
    school="CPMS",
    category=TipCategory.BULLYING,
    what="Some 7th graders keep taking a kid's lunch tray and filming him when he gets upset, "
    "then they post the videos in a group chat. It has happened almost every day this week. "
    "Nobody stops it because the lunch aides stand at the other end.",
    who="The kid is small with glasses, 7th grade, I don't know his name. The one who films "
    "is called Brayden, he has a black hoodie with a wolf on it.",
    where="Cafeteria, the back table by the windows",
    when="Second lunch, this week",
)

BUS_SEVEN = DemoReport(
    ago=days(4, 3),
    by=TEACHER,
    school="CPMS",
    channel=Channel.OTHER,
    occurred="Most afternoons for the past two weeks, on the ride home",
    location="School bus 7, afternoon route",
    narrative=(
        "Jo Ellis, who drives bus 7, stopped me at the bus loop: two 6th graders on her "
        "route, Eli Warren and Reid Pratt, sit right behind her and talk most afternoons about "
        'a list of kids they will "take out" on the last day of school. She took it for a '
        'video game they play until Monday, when Eli said "not in the game, for real this '
        'time" and Reid told him to shut up. She has no account, so I am entering it for her; '
        "the transportation office can reach her."
    ),
    people=((Part.SUBJECT, ELI), (Part.SUBJECT, REID)),
)

PILLS_STORY = DemoTip(
    ago=days(2, 3),
    school="CPMS",
    category=TipCategory.SELF_HARM,
    what="My friend keeps saying she wants to disappear and that nobody would notice. "
    "Tonight she posted a picture of a lot of pills on her private story with the word "
    "'soon'. Last week she gave me her hoodie and her drawings and said to keep them. I'm "
    "scared but I don't want her to be mad at me.",
    who="A girl in 8th grade. I don't want to say her name yet.",
    where="Her private story, and at school",
    when="Tonight, and the last two weeks",
    messages=(
        Message(
            minutes(35),
            "Thank you for telling us. You did the right thing, and she will not learn from "
            "us that it came from you. Because of what she posted tonight we want to make "
            "sure she is safe now: can you tell us her name? If you think she may hurt "
            "herself tonight, call 911, or call or text 988.",
            by=PSYCH,
        ),
        Message(
            minutes(48),
            "its Maya Bishop. she lives on alder street i think. please dont say it was me",
        ),
        Message(
            days(0, 16),
            "Thank you again. She is safe: an adult from school talked with her today and her "
            "family is helping her. If you are ever worried about her, or about yourself, you "
            "can write here, talk to an adult you trust, or call or text 988 at any time.",
            by=PSYCH,
        ),
        Message(days(0, 20), "ok. she knows someone told but she hugged me. thank you"),
    ),
    triage=Triage(
        after=minutes(70),
        by=PSYCH,
        outcome=TriageOutcome.SUICIDE_PROTOCOL,
        screening=Screening(imminent=True, threat_communicated=False, someone_in_fear=False),
        reason="Risk of self-harm, no threat to anyone else: the district's suicide-risk "
        "protocol. Tonight: Maya Bishop's parents reached by phone and an RPD welfare check "
        "at the home; she is safe, and her parents have locked away the medicines. Tomorrow: "
        "suicide risk screening at school with the CPMS counselor and me, a safety plan with "
        "the family, and a community mental-health referral if they agree.",
    ),
)

LOCKDOWN = DemoReport(
    ago=days(1, 1),
    by=AP,
    school="RHS",
    channel=Channel.STAFF,
    occurred="At dismissal, a few minutes before this report",
    location="RHS student parking lot, toward the gym door",
    narrative=(
        "Dylan Kessler (former student, under a no-trespass notice for RHS since last month) "
        "drove his grey hatchback into the student lot at dismissal, parked by the gym and "
        "walked toward the gym door Kayla Morrison uses to leave, with something long wrapped "
        "in a towel under his arm. I was on lot duty about 30 metres away. I called 911 and "
        "radioed the office; the principal announced a lockdown. Kayla was inside the gym with "
        "her coach. I lost sight of him behind the buses."
    ),
    people=((Part.SUBJECT, DYLAN), (Part.TARGET, KAYLA)),
    imminent=True,
    actions=(ImmediateAction.CALLED_911, ImmediateAction.LOCKDOWN),
    actions_by="Grace Chen (911) and Principal Helen Ostrowski (lockdown, over the PA)",
    alert=Alert(
        by=LEAD,
        after=minutes(3),
        actions=(
            RecordedAction(
                ImmediateAction.OFFICER_NOTIFIED,
                "RHS front office, by radio to Officer Reyes",
                taken=minutes(1),
                recorded=minutes(25),
            ),
            RecordedAction(
                ImmediateAction.PARENTS_NOTIFIED,
                "Daniel Okafor, by phone to Renee Morrison, Kayla's mother",
                taken=minutes(20),
                recorded=minutes(26),
            ),
        ),
    ),
    triage=Triage(
        after=days(0, 3),
        by=LEAD,
        outcome=TriageOutcome.ADDED_TO_CASE,
        screening=Screening(imminent=True, threat_communicated=True, someone_in_fear=True),
        reason="Dylan Kessler is the subject of an open case about the same conduct toward "
        "Kayla Morrison; the report belongs to it.",
        case_note="This afternoon's lockdown report is added to this case. RPD stopped Dylan "
        "at the gym door two minutes after the 911 call; the wrapped object was a closed "
        "umbrella and no weapon was found. He was arrested for criminal trespass under the "
        "notice served last month and released to his mother this evening. Kayla and her "
        "mother informed; the escort to her car resumes at once. He broke the notice: the "
        "team reviews the level of concern at tomorrow morning's meeting.",
    ),
)

PLANNER = DemoReport(
    ago=days(0, 22),
    by=TEACHER,
    school="CPMS",
    channel=Channel.STUDENT,
    occurred="At the end of 6th period; the students say the list has been there a week",
    location="Room 214 (science)",
    narrative=(
        "At the end of 6th period two 7th graders, Bella Ortiz and Zoe Harmon, stayed behind "
        "and told me that Noah Castellano keeps a list in the back of his planner of kids who "
        '"will get what\'s coming", and that Bella saw her own name on it. I asked Noah for '
        "the planner as the class left; he handed it over without argument and said \"it's "
        'just a list". The last page has six names under the heading DAY OF RECKONING, '
        "Bella's among them; no date and nothing about weapons. I locked the planner in my "
        "desk and told the principal. Noah has an IEP (specific learning disability). Bella "
        "was upset and went home with her mother."
    ),
    people=((Part.SUBJECT, NOAH), (Part.TARGET, BELLA), (Part.WITNESS, ZOE)),
    attachment=(
        "planner-last-page.txt",
        "Transcription of the last page of Noah Castellano's planner (S. Haddad)\n"
        "\n"
        "  DAY OF RECKONING\n"
        "    Bella\n"
        "    Marco\n"
        "    Jayla\n"
        "    Trent\n"
        "    Aaron\n"
        "    Mr. K\n"
        "\n"
        "Blue ink, block capitals, each name underlined twice; a storm cloud drawn below.\n"
        "The planner is locked in my desk, room 214.\n",
    ),
    triage=Triage(
        after=days(0, 20),
        by=LEAD,
        outcome=TriageOutcome.OPENED_CASE,
        screening=Screening(
            imminent=False,
            threat_communicated=True,
            someone_in_fear=True,
            has_plan=True,
            manageable_under_plan=False,
        ),
        reason="A written list of people with a threatening heading, and a student who is "
        "afraid: it needs an assessment. No imminent danger (no date, no weapon mentioned).",
        summary="A CPMS 7th grader, Noah Castellano, kept a list headed DAY OF RECKONING in "
        "his planner: five classmates and a teacher. One of them, Bella Ortiz, saw her name "
        'and is afraid. Noah handed the planner to Mr. Haddad and said it was "just a '
        'list". No date and no mention of weapons. Noah has an IEP.',
    ),
)

TRUCK_KNIFE = DemoTip(
    ago=days(0, 2),
    school="RHS",
    category=TipCategory.WEAPON,
    what="A junior said at lunch that he keeps a knife in his truck since some guys from "
    "Westfield jumped his cousin, and that if they show up at the game he'll be ready.",
    who="A junior, I think his name is Cole. He drives a red pickup.",
    where="He said it in the cafeteria. The truck is in the student lot.",
    when="Today at lunch",
)

CUSTODY = DemoReport(
    ago=days(0, 3),
    by=BROOKS,
    school="CPMS",
    channel=Channel.STAFF,
    occurred="Yesterday and today",
    location="CPMS staff workroom, 2nd floor",
    narrative=(
        "Dale Sorensen, an instructional aide on the 7th-grade team, is in a custody dispute "
        "with his ex-wife Rhonda Sorensen, who works in our cafeteria. Yesterday he said in "
        "the workroom that \"if the judge gives her the kids, she won't be around long to "
        'enjoy it", and today he asked me which door the cafeteria staff use when they leave. '
        "He was calm about it, which frightened me more. I work beside him every day: please "
        "do not let him know that I reported this."
    ),
    people=(
        (Part.SUBJECT, staff("Dale", "Sorensen", "CPMS")),
        (Part.TARGET, staff("Rhonda", "Sorensen", "CPMS")),
    ),
    confidential=True,
)

SISTER = DemoReport(
    ago=days(0, 4),
    by=COUNSELOR,
    school="RHS",
    channel=Channel.PARENT,
    occurred="Last night, at home (as his mother tells it)",
    location="The Brandt home",
    narrative=(
        "Lisa Brandt, Tyler's mother, called me this morning. Last night Tyler's younger "
        'sister told her that Tyler had said Owen Pike "had it coming" and that "this time '
        'nobody is going to stop me". His mother does not know what it is about; Tyler would '
        "not talk about it and went to his father's. He came to his check-in with me this "
        "morning tired and quiet. I have not asked him about it: the team decides how."
    ),
    people=((Part.SUBJECT, TYLER), (Part.TARGET, OWEN)),
)

BUS_LOOP = DemoReport(
    ago=minutes(50),
    by=OFFICER,
    school="CPMS",
    channel=Channel.SCHOOL_RESOURCE_OFFICER,
    occurred="At dismissal",
    location="CPMS bus loop, beside bus 4",
    narrative=(
        "From the crosswalk I saw Mason Reilly push Ethan Cruz against the side of bus 4 and "
        'say, close to his face, "tell anyone about us again and you\'ll see what happens". '
        'Aiden Park stood by laughing. When I walked over they left; Ethan said "nothing '
        'happened" and got on the bus. No one was hurt. It looks like retaliation for what '
        "Ethan told the team about the locker room."
    ),
    people=((Part.SUBJECT, MASON), (Part.TARGET, ETHAN)),
)

LOCKER_KNIFE = DemoReport(
    ago=minutes(12),
    by=BROOKS,
    school="CPMS",
    channel=Channel.STUDENT,
    occurred="Between 5th and 6th period, minutes ago",
    location="Hallway by the 8th-grade locker room; Marcus is now in 6th-period PE (gym)",
    narrative=(
        "Ava Lindgren (7th grade) came to my room crying. She says that in the hallway by the "
        "locker room an 8th grader, Marcus Tate, showed her and her friends a folding knife "
        'and said he is going to "cut" Devon Price after school for what Devon posted about '
        "his sister. I have not seen the knife myself. I called the front office for Officer "
        "Reyes and kept Ava with me."
    ),
    people=((Part.SUBJECT, MARCUS), (Part.TARGET, DEVON), (Part.WITNESS, AVA)),
    imminent=True,
    actions=(ImmediateAction.OFFICER_NOTIFIED,),
    actions_by="Evelyn Brooks, through the front office",
)

REPORTS = (RECESS, BUS_SEVEN, LOCKDOWN, PLANNER, CUSTODY, SISTER, BUS_LOOP, LOCKER_KNIFE)
TIPS = (VAPING, LUNCH_VIDEOS, PILLS_STORY, TRUCK_KNIFE)


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class IntakeLoaded:
    cases: tuple[str, ...] = ()  # the numbers of the cases opened at triage
    tip_code: str | None = None  # the follow-up code of the tip with a conversation


@dataclass
class _Loader:
    ctx: ServiceContext
    school_ids: dict[str, int]
    team_id: int
    users: dict[str, User] = field(default_factory=dict)
    opened: list[str] = field(default_factory=list)
    tip_code: str | None = None

    def as_user(self, username: str, at: datetime) -> ServiceContext:
        user = self.users.get(username)
        if user is None:
            user = accounts_repo.user_by_username(self.ctx.db, username)
            assert user is not None, username  # noqa: S101  (the demo made every account)
            self.users[username] = user
        return acting_as(self.ctx, user, at)

    def do(self, ctx: ServiceContext, change: Staged[T]) -> T:
        """Commit one use case, as the app would after the service staged it."""
        return carry_out(ctx, change)

    def anonymous(self, at: datetime) -> ServiceContext:
        """The public tip page: no one signed in, no address (the service says so again)."""
        return replace(
            self.ctx,
            actor=None,
            audit_ctx=AuditContext(
                actor_id=None, actor_role="anonymous", request_id=REQUEST_ID, client_address=None
            ),
            now=at,
        )

    def report(self, demo: DemoReport) -> None:
        received = self.ctx.now - demo.ago
        today = organisation.local_day(self.ctx)
        attachment = None
        if demo.attachment is not None:
            name, text = demo.attachment
            attachment = Upload(name, "text/plain", text.encode("utf-8"))
        ctx = self.as_user(demo.by, received)
        report_id = self.do(
            ctx,
            reports.submit_report(
                ctx,
                ReportData(
                    school_id=self.school_ids[demo.school],
                    channel=demo.channel,
                    occurred=demo.occurred,
                    location=demo.location,
                    narrative=demo.narrative,
                    people=tuple(
                        PersonEntry(part, person.data(self.school_ids, today))
                        for part, person in demo.people
                    ),
                    attachment=attachment,
                    confidential=demo.confidential,
                    imminent=demo.imminent,
                    actions=tuple((a, demo.actions_by, received) for a in demo.actions),
                ),
            ),
        ).report_id
        if demo.alert is not None:
            alert = demo.alert
            ctx = self.as_user(alert.by, received + alert.after)
            triage.view_report(ctx, report_id)
            self.do(ctx, triage.acknowledge(ctx, report_id))
            for done in alert.actions:
                ctx = self.as_user(alert.by, received + done.recorded)
                self.do(
                    ctx,
                    triage.record_action(
                        ctx,
                        report_id,
                        action=done.action,
                        taken_by=done.taken_by,
                        taken_at=received + done.taken,
                    ),
                )
        if demo.triage is not None:
            self.decide(report_id, received, demo.triage)

    def tip(self, demo: DemoTip) -> None:
        received = self.ctx.now - demo.ago
        ctx = self.anonymous(received)
        receipt = self.do(
            ctx,
            tips.submit_tip(
                ctx,
                TipData(
                    school_id=self.school_ids[demo.school],
                    category=demo.category,
                    what=demo.what,
                    who=demo.who,
                    where=demo.where,
                    when=demo.when,
                ),
                client=None,
                limited=False,
            ),
        )
        if not isinstance(receipt, tips.TipReceipt):
            raise RuntimeError("the demo's tip was held back by the tip line's limit")
        code, report_id = receipt.code, receipt.report_id
        steps: list[tuple[timedelta, Message | Triage]] = [(m.after, m) for m in demo.messages]
        if demo.triage is not None:
            steps.append((demo.triage.after, demo.triage))
        for after, step in sorted(steps, key=lambda s: s[0]):
            at = received + after
            if isinstance(step, Triage):
                self.decide(report_id, received, step)
            elif step.by is None:
                ctx = self.anonymous(at)
                self.do(ctx, tips.tipster_message(ctx, code, step.body, client=None))
            else:
                ctx = self.as_user(step.by, at)
                self.do(ctx, tips.team_message(ctx, report_id, step.body))
        if demo.messages:
            self.tip_code = code

    def decide(self, report_id: int, received: datetime, step: Triage) -> None:
        """Read the report, as a triager does, then decide; a case to join comes from its
        people's history (the open case nearest in time)."""
        at = received + step.after
        ctx = self.as_user(step.by, at)
        view = triage.view_report(ctx, report_id)
        case_number = ""
        if step.outcome is TriageOutcome.ADDED_TO_CASE:
            open_cases = [
                h.case_number
                for h in view.history
                if h.kind == "case" and h.case_number and h.status != CaseStatus.CLOSED.label
            ]
            if not open_cases:
                return  # not the demo's cases: the report waits in the queue instead
            case_number = open_cases[0]
        number = self.do(
            ctx,
            triage.decide(
                ctx,
                report_id,
                triage.Decision(
                    outcome=step.outcome,
                    screening=step.screening.answers(),
                    reason=step.reason,
                    no_threat_action=step.no_threat_action,
                    team_id=self.team_id if step.outcome is TriageOutcome.OPENED_CASE else None,
                    summary=step.summary,
                    case_number=case_number,
                ),
            ),
        )
        if number and step.outcome is TriageOutcome.OPENED_CASE:
            self.opened.append(number)
        if number and step.case_note:
            ctx = self.as_user(step.by, at + minutes(5))
            self.do(
                ctx,
                records.add_note(
                    ctx,
                    number,
                    record_class=RecordClass.EDUCATION,
                    body=step.case_note,
                ),
            )


def load_intake(
    ctx: ServiceContext, *, district_id: int, school_ids: dict[str, int], team_id: int
) -> IntakeLoaded:
    """Load the demo reports and tips into a district that has no report yet.

    ``ctx`` is the system's context: each step acts as the demo account that does it, a tip
    as an anonymous visitor. Run it after :func:`btam.demo.cases.load_cases`.

    :raises AuditUnavailable: when a step cannot be recorded (the steps before it stay).
    """
    if intake_repo.count_in_district(ctx.db, district_id):
        return IntakeLoaded()
    loader = _Loader(ctx, school_ids, team_id)
    # Oldest first, so that report numbers follow the order things came in.
    items: list[DemoReport | DemoTip] = [*REPORTS, *TIPS]
    for item in sorted(items, key=lambda i: -i.ago):
        if isinstance(item, DemoReport):
            loader.report(item)
        else:
            loader.tip(item)
    return IntakeLoaded(tuple(loader.opened), loader.tip_code)
