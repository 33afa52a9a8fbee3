"""The API's request and response bodies: the OpenAPI schema is generated from them.

Input types are bounded so that no value can reach the database in a shape it
cannot hold (ids within 64 bits, texts without NUL characters, dates within years
1900 to 9000): what does not fit is a 422, never a 500. Request bodies are strict:
unknown fields are refused, a boolean is `true` or `false` (not 0 or 1), a number
is a JSON number (not text), and null only where the schema says nullable.

Vocabulary (the same in every operation): configuration is named by its code (a CR's
or service type's classification, a workflow's, cycle's or question's code), a workflow
step by its order within the workflow, and records by id (tickets, people, companies,
contact persons, options); users by username.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

from ninja import Schema
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
)

from ciclo.configurator.items import AnswerTypeName, ServiceTypeCategory, ServiceTypeKind, StepKind
from ciclo.configurator.models import CrmOptions
from ciclo.configurator.validation import Rule
from ciclo.fields import (
    BodyId,
    BodyInt,
    BodySmallInt,
    Code,
    Day,
    Flag,
    Percent,
    Priority,
    StepOrder,
    Text,
    Username,
    When,
    _named,
    bounded,
)
from ciclo.people.models import Person, Phone
from ciclo.tickets import errors as engine_errors
from ciclo.tickets.errors import TicketError
from ciclo.tickets.models import Channel, Note, PhaseMove, Ticket

# CPF/CNPJ as typed: digits, optionally formatted (only ASCII digits: "²".isdigit() is true in Python).
Document = Annotated[
    str,
    Field(
        max_length=30,
        description="CPF (11 digits) or CNPJ (12 letters or digits and 2 check digits), with or without the mask; "
        "checked by its check digits and stored upper-case without the mask.",
    ),
]
# The models' choices are the API's enumerations, each under its own name (those of the
# configuration's items — StepKind, AnswerType, ServiceTypeKind, ServiceTypeCategory — are
# the items' own: one enumeration per name in the schema).
if TYPE_CHECKING:
    PersonKind = Person.Kind
    PhoneKind = Phone.Kind
    CollectionGrouping = CrmOptions.CollectionGrouping
    TicketStatus = Ticket.Status
    NoteKind = Note.Kind
    MoveKind = PhaseMove.Kind
    ChannelName = Channel
else:
    PersonKind = _named("PersonKind", Person.Kind, "A person's kind: individual (CPF) or legal entity (CNPJ).")
    PhoneKind = _named("PhoneKind", Phone.Kind, "A phone number's kind.")
    CollectionGrouping = _named(
        "CollectionGrouping", CrmOptions.CollectionGrouping, "One collection per person, or per person and company."
    )
    TicketStatus = _named("TicketStatus", Ticket.Status, "Open, or closed (its phase closes the process).")
    NoteKind = _named("NoteKind", Note.Kind, "How a note was written.")
    MoveKind = _named("MoveKind", PhaseMove.Kind, "open: the opening; move: a note moving on; jump: a supervisor's.")
    ChannelName = _named("Channel", Channel, "The channel of a contact.")
TypeKind = ServiceTypeKind
TypeCategory = ServiceTypeCategory
Grouping = CollectionGrouping


class In(BaseModel):
    """A request body: unknown fields are refused, and it is never read from attributes
    (a list or a number is not an empty object)."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    def dict(self, **kw: Any) -> dict[str, Any]:
        return self.model_dump(**kw)


class Out(Schema):
    """A response body."""


# ---- errors ---------------------------------------------------------------------------------


class _Error(Out):
    message: str = Field(description="A message for people, in the request's language.")
    fields: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per field, its messages: a dotted path into the body (`steps.2.cr`), a parameter's name, or "
        "the code by which the request named a question (`1.01`). Empty when the error is not about a field.",
    )


# The codes whose error carries data have a model of their own below; every other code is a GeneralError.
_WITH_DATA = {"decision_required", "invalid_choice", "required_unanswered", "answer_conflict"}
_WITH_DATA |= {"phase_locked", "stale_ticket", "in_use", "invalid"}
_API_CODES = {"invalid", "bad_request", "malformed_json", "malformed_yaml", "not_authenticated", "forbidden"}
_API_CODES |= {"not_found", "method_not_allowed", "conflict", "unsupported_media_type", "too_large", "throttled"}
_API_CODES |= {"error", "server_error"}
_ENGINE_CODES = {c.code for c in vars(engine_errors).values() if isinstance(c, type) and issubclass(c, TicketError)}
GENERAL_CODES = tuple(sorted((_API_CODES | _ENGINE_CODES) - _WITH_DATA))


class GeneralError(_Error):
    """An error that carries nothing but its message and `fields`."""

    code: Literal[GENERAL_CODES] = Field(description="A stable code for programs.")  # type: ignore[valid-type]


class DecisionOptionRef(Out):
    id: int
    label: str
    target_order: int = Field(description="The order of the step this option leads to.")


class DecisionAsked(Out):
    step: int = Field(description="The decision step's order within `workflow`.")
    workflow: str = Field(description="The code of the workflow the decision step is in.")
    question: str
    options: list[DecisionOptionRef]


class DecisionRequiredError(_Error):
    """The route meets a decision: send its option in `choices` (step = decision.step)."""

    code: Literal["decision_required"]
    decision: DecisionAsked


class InvalidChoiceError(_Error):
    """A choice that is not one of the decision's options, or a route the workflow cannot follow."""

    code: Literal["invalid_choice"]
    step: int | None = Field(default=None, description="The decision step's order, when the error is about one.")
    workflow: str | None = Field(default=None, description="The code of that step's workflow.")
    options: list[DecisionOptionRef] = Field(default_factory=list, description="The decision's options.")


class QuestionMention(Out):
    id: int
    code: str
    text: str


class RequiredUnansweredError(_Error):
    """Required questions of the current phase have no saved answer (a user with the permission to override
    them, supervisors by default, may pass override_reason)."""

    code: Literal["required_unanswered"]
    questions: list[QuestionMention]


class ChosenOption(Out):
    option: int = Field(description="The option's id.")
    label: str
    complement: str


AnswerValue = Annotated[
    str | list[ChosenOption] | None,
    Field(
        description="By the question's answer_type: short_text and long_text a text; number and money a decimal "
        'as text ("1234.5", money with two decimals); date "YYYY-MM-DD"; time "HH:MM"; single_choice and '
        "multiple_choice a list of chosen options. Null: no answer."
    ),
]


class ConflictOut(Out):
    question: str = Field(description="The question's code.")
    text: str
    answer_type: AnswerTypeName
    your_version: int
    current_version: int
    current_value: AnswerValue
    current_display: str
    changed_by: str | None = Field(description="The username of who saved the current value.")
    changed_at: dt.datetime | None


class AnswerConflictError(_Error):
    """Answers changed since they were read; nothing of the save was written."""

    code: Literal["answer_conflict"]
    conflicts: list[ConflictOut]


class CrRef(Out):
    id: int
    code: str
    description: str


class PhaseLockedError(_Error):
    """Answers of an earlier phase: unlock it first (POST /tickets/{id}/unlock)."""

    code: Literal["phase_locked"]
    crs: list[CrRef]


class StaleTicketError(_Error):
    """The ticket changed since `expected_version`."""

    code: Literal["stale_ticket"]
    current_version: int


class ProblemOut(Out):
    """One rule a change of the configuration breaks."""

    rule: Rule = Field(description="Which rule: the same code whichever interface (admin, API, import) refused it.")
    path: str = Field(
        description="Where: in a request body, the field as `fields` names it (`steps.2.cr`; `__all__` for the "
        "item as a whole); in a definitions file, its path in the file (`workflows[1].steps[3].cr`; empty for "
        "the whole)."
    )
    message: str = Field(description="The problem for people, in the request's language.")


_PROBLEMS = "For a change of the configuration: each rule it breaks, with its code. Absent otherwise."


class InvalidError(_Error):
    """Values that are not valid, or a change of the configuration that breaks a rule: nothing was written."""

    code: Literal["invalid"]
    problems: list[ProblemOut] = Field(default_factory=list, description=_PROBLEMS)


class InUseError(_Error):
    """A definition in use is never deleted, nor left out of the item it belongs to: deactivate it instead."""

    code: Literal["in_use"]
    used_by: list[str] = Field(
        description="What uses it (names of kinds of records), when the database refused the deletion; empty "
        "when a rule of the configuration refused it (`problems` and `message` then say what is in use)."
    )
    problems: list[ProblemOut] = Field(default_factory=list, description=_PROBLEMS)


ErrorDetail = Annotated[
    GeneralError
    | InvalidError
    | DecisionRequiredError
    | InvalidChoiceError
    | RequiredUnansweredError
    | AnswerConflictError
    | PhaseLockedError
    | StaleTicketError
    | InUseError,
    Field(discriminator="code"),
]


class ErrorOut(Out):
    """Every error: `code` tells which, and the data each code carries."""

    error: ErrorDetail


# What an operation can answer besides its success, by kind of operation.
AUTH = (401, 403)
LIST = (*AUTH, 422)
READ = (*AUTH, 404)
READ_BY_ID = (*AUTH, 404, 422)
CREATE = (400, *AUTH, 409, 422)
WRITE = (400, *AUTH, 404, 409, 422)
DELETE = (*AUTH, 404, 409)


def responses(ok: dict[int, Any], errors: tuple[int, ...] = WRITE) -> dict[int, Any]:
    """An operation's responses: its success bodies and the errors it can answer, each an ErrorOut."""
    return {**ok, **dict.fromkeys(sorted(errors), ErrorOut)}


# ---- references -----------------------------------------------------------------------------


class UserRef(Out):
    id: int
    username: str


class TypeRef(Out):
    id: int
    code: str
    description: str


class CompanyRef(Out):
    id: int
    code: str
    name: str


class PersonRef(Out):
    id: int
    name: str
    document: str


class StepRef(Out):
    id: int
    order: int
    kind: StepKind


# ---- configuration --------------------------------------------------------------------------

# A PATCH field: omitted keeps the value; null only where the schema says nullable.
KEEP: Any = None


class CrOut(Out):
    id: int
    code: str
    description: str
    closes_process: bool
    active: bool
    default_success: int | None = Field(description="The success % a sales ticket takes on entering this phase.")
    stale_after_days: int | None = Field(description="Business days in this phase after which a sales ticket is stale.")
    members: list[str] = Field(description="Usernames; empty: any agent works this CR.")


class CrPatch(In):
    code: Code = Field(default=KEEP, description="The CR's classification.")
    description: bounded(200, 1) = KEEP  # type: ignore[valid-type]
    closes_process: Flag = KEEP
    active: Flag = KEEP
    default_success: Percent | None = Field(default=KEEP, description="0 to 100; null: none.")
    stale_after_days: BodySmallInt | None = Field(default=KEEP, description="Business days; null: never stale.")
    members: list[Username] = Field(default=KEEP, max_length=1000, description="Usernames; replaces the members.")


class DecisionOptionOut(Out):
    id: int
    label: str
    target_order: int = Field(description="The order of the step it leads to.")
    position: int


class StepOut(Out):
    id: int
    order: int = Field(description="The step's order number: how requests name it.")
    kind: StepKind
    cr: str | None = Field(description="The CR's classification (kind cr).")
    closes_process: bool
    next_order: int | None
    question: str
    options: list[DecisionOptionOut]
    target_workflow: str | None = Field(description="The target workflow's code (kind workflow).")
    target_order: int | None
    active: bool


class WorkflowOut(Out):
    id: int
    code: str
    description: str
    active: bool
    steps: list[StepOut]


class DefinitionPatch(In):
    description: bounded(200, 1) = KEEP  # type: ignore[valid-type]
    active: Flag = KEEP


class QuestionOptionOut(Out):
    id: int
    label: str
    position: int
    checked_by_default: bool = Field(
        description="A suggestion to offer pre-selected: it is an answer only once a client saves it."
    )
    asks_complement: bool
    active: bool


class QuestionOut(Out):
    id: int
    code: str = Field(description="The question's classification: how requests name it.")
    cr: str = Field(description="The classification of the CR the question is asked in.")
    text: str
    help_text: str
    answer_type: AnswerTypeName
    required: bool
    min_value: str | None
    max_value: str | None
    active: bool
    options: list[QuestionOptionOut]


class CycleOut(Out):
    id: int
    code: str
    description: str
    active: bool
    questions: list[QuestionOut]


class ServiceTypeOut(Out):
    id: int
    code: str
    description: str
    kind: ServiceTypeKind
    category: ServiceTypeCategory
    sales: bool = Field(description="Marked as a sales type (the types under it are sales types too).")
    is_sales_type: bool = Field(description="Its tickets are sales contacts: marked, or under a sales group.")
    parent: str | None = Field(description="The classification of the synthetic type it sits under.")
    priority: int
    days_to_next_contact: int
    colour: str
    active_from: dt.date | None
    workflow: str | None = Field(description="The workflow's code.")
    cycle: str | None = Field(description="The service cycle's code.")
    active: bool


class ServiceTypePatch(In):
    code: Code = Field(default=KEEP, description="The type's classification.")
    description: bounded(200, 1) = KEEP  # type: ignore[valid-type]
    kind: ServiceTypeKind = KEEP
    category: ServiceTypeCategory = KEEP
    sales: Flag = KEEP
    priority: Priority = KEEP
    days_to_next_contact: BodySmallInt = KEEP
    colour: bounded(7) = KEEP  # type: ignore[valid-type]
    active_from: Day | None = Field(default=KEEP, description="Null: active from any day.")
    workflow: Code | None = Field(default=KEEP, description="The workflow's code; null: none.")
    cycle: Code | None = Field(default=KEEP, description="The service cycle's code; null: none.")
    active: Flag = KEEP


class CrmOptionsOut(Out):
    use_cycle_in_followup: bool
    collection_synthetic_type: str | None = Field(description="A service type's classification.")
    collection_analytical_type: str | None = Field(description="A service type's classification.")
    collection_delegate_user: str | None = Field(description="A username.")
    automatic_note_user: str | None = Field(description="A username.")
    collection_days_overdue: int
    collection_grouping: CollectionGrouping
    access_control_user_company: bool
    email_debtor_on_collection: bool


class CrmOptionsIn(In):
    """Omitted fields keep their value; null clears an optional reference."""

    use_cycle_in_followup: Flag = KEEP
    collection_synthetic_type: Code | None = Field(default=KEEP, description="A service type's classification.")
    collection_analytical_type: Code | None = Field(default=KEEP, description="A service type's classification.")
    collection_delegate_user: Username | None = KEEP
    automatic_note_user: Username | None = KEEP
    collection_days_overdue: BodySmallInt = KEEP
    collection_grouping: CollectionGrouping = KEEP
    access_control_user_company: Flag = KEEP
    email_debtor_on_collection: Flag = KEEP


# ---- people and companies -------------------------------------------------------------------


class PersonOut(Out):
    id: int
    name: str
    kind: PersonKind
    document: str = Field(description="CPF/CNPJ without the mask, upper-case (a CNPJ may hold letters).")
    document_display: str = Field(description="CPF/CNPJ formatted.")
    trade_name: str
    city: str
    state: str
    notes: str
    active: bool
    created_at: dt.datetime


class ContactOut(Out):
    id: int
    name: str
    role: str
    email: str
    phone: str


class PhoneOut(Out):
    id: int
    kind: PhoneKind
    number: str


class EmailOut(Out):
    id: int
    address: str
    label: str


class PersonDetailOut(PersonOut):
    contacts: list[ContactOut]
    phones: list[PhoneOut]
    emails: list[EmailOut]


class PersonIn(In):
    name: bounded(200, 1)  # type: ignore[valid-type]
    kind: PersonKind | None = Field(
        default=None, description="Omitted or null: from the document (11 digits CPF, 14 CNPJ)."
    )
    document: Document = ""
    trade_name: bounded(200) = ""  # type: ignore[valid-type]
    city: bounded(100) = ""  # type: ignore[valid-type]
    state: bounded(2) = ""  # type: ignore[valid-type]
    notes: bounded(20000) = ""  # type: ignore[valid-type]
    active: Flag = True


class PersonPatch(In):
    name: bounded(200, 1) = KEEP  # type: ignore[valid-type]
    kind: PersonKind = KEEP
    document: Document = KEEP
    trade_name: bounded(200) = KEEP  # type: ignore[valid-type]
    city: bounded(100) = KEEP  # type: ignore[valid-type]
    state: bounded(2) = KEEP  # type: ignore[valid-type]
    notes: bounded(20000) = KEEP  # type: ignore[valid-type]
    active: Flag = KEEP


class PersonPage(Out):
    items: list[PersonOut]
    next_cursor: str | None = Field(description="Give it as `cursor` for the next page; null on the last page.")


class CompanyOut(Out):
    id: int
    code: str
    name: str
    cnpj: str
    active: bool


class CompanyIn(In):
    code: bounded(20, 1)  # type: ignore[valid-type]
    name: bounded(200, 1)  # type: ignore[valid-type]
    cnpj: Document = ""
    active: Flag = True


class CompanyPatch(In):
    code: bounded(20, 1) = KEEP  # type: ignore[valid-type]
    name: bounded(200, 1) = KEEP  # type: ignore[valid-type]
    cnpj: Document = KEEP
    active: Flag = KEEP


# ---- tickets --------------------------------------------------------------------------------


class ContactRef(Out):
    id: int
    name: str


class TicketListItem(Out):
    id: int
    subject: str
    status: TicketStatus
    priority: int
    channel: ChannelName
    person: PersonRef
    service_type: TypeRef
    cr: CrRef
    company: CompanyRef
    next_contact_at: dt.datetime | None
    next_contact_user: UserRef | None
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    version: int = Field(description="Give it back as `expected_version` to write only if nobody changed it since.")


class TicketOut(TicketListItem):
    workflow: str = Field(description="The workflow's code.")
    step: StepRef
    closes_process: bool = Field(description="The ticket's phase closes the process.")
    contact_person: ContactRef | None
    opened_by: UserRef


class TicketPage(Out):
    items: list[TicketListItem]
    next_cursor: str | None = Field(description="Give it as `cursor` for the next page; null on the last page.")


class ChoiceIn(In):
    """The option chosen at a decision on the route (the 422 decision_required names the decision)."""

    step: StepOrder = Field(description="The decision step's order within `workflow`.")
    workflow: Code | None = Field(
        default=None,
        description="The code of the decision's workflow; omitted: the ticket's (when opening, the type's). "
        "Needed only for a decision in a workflow the route jumps into.",
    )
    option: BodyId = Field(description="The chosen option's id (as the workflow lists it).")


class TicketIn(In):
    person: BodyId = Field(description="The person's id.")
    service_type: Code = Field(description="The service type's classification (an analytical type).")
    subject: bounded(200, 1)  # type: ignore[valid-type]
    company: BodyId = Field(description="The company's id.")
    channel: ChannelName = ChannelName.PHONE
    contact_person: BodyId | None = Field(default=None, description="The id of one of the person's contacts.")
    next_contact_at: When | None = Field(default=None, description="Omitted: the type's days to the next contact.")
    next_contact_user: Username | None = Field(default=None, description="A username; omitted: the user opening it.")
    text: bounded(20000) = Field(default="", description="The opening note.")  # type: ignore[valid-type]
    choices: list[ChoiceIn] = Field(default_factory=list, max_length=100)


MoneyIn = Annotated[
    str | int | float,
    Field(description='An amount in reais: a number, or text such as "1234.56" (two decimals at most kept).'),
]


class OutcomeIn(In):
    """How a sales contact ends: won with its value, or lost with a reason from the list (and a text)."""

    outcome: Literal["won", "lost"]
    won_value: MoneyIn | None = Field(default=None, description="Won: the sale's value (required).")
    lost_reason: BodyId | None = Field(default=None, description="Lost: the id of an active lost reason (required).")
    text: bounded(20000) = ""  # type: ignore[valid-type]


class NoteIn(In):
    text: bounded(20000, 1)  # type: ignore[valid-type]
    channel: ChannelName = ChannelName.PHONE
    next_contact_at: When | None = None
    next_contact_user: Username | None = Field(default=None, description="A username.")
    move_on: Flag = False
    choices: list[ChoiceIn] = Field(default_factory=list, max_length=100)
    override_reason: bounded(2000) = Field(  # type: ignore[valid-type]
        default="",
        description="Why the ticket moves on past unanswered required questions; needs the permission "
        "tickets.override_required (supervisors have it).",
    )
    expected_version: BodyInt | None = Field(
        default=None, description="The ticket's version when read: 409 stale_ticket if it changed."
    )
    outcome: OutcomeIn | None = Field(
        default=None,
        description="Required when the note closes a sales ticket (422 invalid on `outcome` without it); "
        "refused on any other note.",
    )


class MoveIn(In):
    step: StepOrder = Field(description="The order of the step to move to, in the ticket's workflow.")
    reason: bounded(2000, 1)  # type: ignore[valid-type]
    choices: list[ChoiceIn] = Field(default_factory=list, max_length=100)
    expected_version: BodyInt | None = Field(
        default=None, description="The ticket's version when read: 409 stale_ticket if it changed."
    )
    outcome: OutcomeIn | None = Field(default=None, description="Required when the move closes a sales ticket.")


class DecisionTakenOut(Out):
    step: int = Field(description="The decision step's order.")
    question: str
    option: int = Field(description="The chosen option's id.")
    label: str


class RouteHop(Out):
    """A step the move passed on its way: a decision (question, option) or a jump (workflow, to)."""

    order: int
    kind: StepKind
    question: str | None = None
    option: str | None = Field(default=None, description="The chosen option's label.")
    workflow: str | None = Field(default=None, description="The code of the workflow jumped into.")
    to: int | None = Field(default=None, description="The order jumped to.")


class MoveOut(Out):
    id: int
    kind: MoveKind
    from_step: int | None = Field(description="The order of the step left.")
    to_step: int = Field(description="The order of the step reached.")
    from_cr: CrRef | None
    to_cr: CrRef
    route: list[RouteHop]
    decisions: list[DecisionTakenOut]
    reason: str
    overrode_required: list[QuestionMention]
    by: UserRef
    at: dt.datetime


class NoteOut(Out):
    id: int
    kind: NoteKind
    text: str
    channel: ChannelName
    author: UserRef
    created_at: dt.datetime
    next_contact_at: dt.datetime | None
    next_contact_user: UserRef | None
    move: MoveOut | None


class NoteResultOut(Out):
    note: NoteOut
    ticket: TicketOut = Field(description="The ticket as this note left it (a later change is not in it).")


class MoveResultOut(Out):
    move: MoveOut
    ticket: TicketOut = Field(description="The ticket as this move left it.")


class UnlockOut(Out):
    id: int
    cr: CrRef
    reason: str
    by: UserRef
    at: dt.datetime
    relocked_by: UserRef | None = Field(description="Who locked the phase again; null while it is unlocked.")
    relocked_at: dt.datetime | None = Field(description="When the phase was locked again; null while it is unlocked.")


class RevisionOut(Out):
    id: int
    question: str = Field(description="The question's code when it was answered.")
    answer_type: AnswerTypeName
    version: int
    old_value: AnswerValue
    new_value: AnswerValue
    by: UserRef
    at: dt.datetime


class HistoryOut(Out):
    notes: list[NoteOut] = Field(description="Every note, oldest first, each with the move it made.")
    unlocks: list[UnlockOut]
    answer_revisions: list[RevisionOut] | None = Field(
        description="Every change of an answer; null for users who may not see them (agents)."
    )


class AnswerOut(Out):
    answer_type: AnswerTypeName = Field(description="The type the value is of.")
    value: AnswerValue
    display: str
    version: int
    is_empty: bool
    answered_by: UserRef
    answered_at: dt.datetime


class CycleQuestionOut(Out):
    id: int
    code: str = Field(description="The question's classification: how requests name it.")
    text: str
    help_text: str
    answer_type: AnswerTypeName
    required: bool
    active: bool
    min_value: str | None
    max_value: str | None
    options: list[QuestionOptionOut] = Field(
        description="checked_by_default marks a suggestion to offer pre-selected; it is not an answer until saved."
    )
    version: int = Field(description="Give it back when saving: the answer's version, 0 when unanswered.")
    answer: AnswerOut | None = Field(description="The saved answer; null: unanswered (a default is not an answer).")


class PhaseOut(Out):
    cr: CrRef
    state: Literal["current", "unlocked", "locked", "ahead"]
    questions: list[CycleQuestionOut]


class TicketCycleOut(Out):
    ticket: int
    ticket_version: int
    phases: list[PhaseOut]


class ChoiceValueIn(In):
    option: BodyId = Field(description="The option's id.")
    complement: bounded(1000) = Field(default="", description="For an option that asks a complement.")  # type: ignore[valid-type]


AnswerValueIn = Annotated[
    Annotated[int, Strict()] | Annotated[float, Strict()] | Text | list[BodyId | ChoiceValueIn] | None,
    Field(
        description="By the question's answer_type: short_text and long_text a text; number and money a number or "
        'a text ("1234.56", "1.234,56"); date "YYYY-MM-DD" or "dd/mm/yyyy"; time "HH:MM"; single_choice and '
        "multiple_choice a list of option ids or {option, complement} objects. "
        'Empty (null, "", []) clears the answer.'
    ),
]


class AnswerIn(In):
    question: Code = Field(description="The question's code in the ticket's cycle.")
    value: AnswerValueIn = None
    version: BodyInt = Field(default=0, description="The answer's version when read (0: unanswered).")


class AnswerResultOut(Out):
    question: str = Field(description="The question's code.")
    answer_type: AnswerTypeName
    status: Literal["saved", "cleared", "unchanged"]
    version: int
    value: AnswerValue


class AnswersResultOut(Out):
    results: list[AnswerResultOut]


class UnlockIn(In):
    cr: Code = Field(description="The CR's classification.")
    reason: bounded(2000) = Field(  # type: ignore[valid-type]
        "", description="Why the phase is unlocked: required, unless it is unlocked already (its unlock is returned)."
    )


class RelockIn(In):
    cr: Code = Field(description="The CR's classification.")


class TokenUser(Out):
    id: int
    username: str
    role: Literal["admin", "supervisor", "agent"] | None
