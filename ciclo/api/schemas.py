"""The API's request and response bodies.

Input types are bounded so that no value can reach the database in a shape it
cannot hold (ids within 64 bits, texts without NUL characters, dates within years
1900 to 9000): what does not fit is a 422, never a 500.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field

from ciclo.configurator.models import AnswerType, CrmOptions, ServiceType, WorkflowStep
from ciclo.people.models import Person
from ciclo.tickets.models import Channel, Ticket

MAX_ID = 2**63 - 1
MAX_INT = 2**31 - 1  # PositiveIntegerField on PostgreSQL
MAX_SMALL = 32767  # PositiveSmallIntegerField on PostgreSQL


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("the text is not valid Unicode") from exc
    return value


def _sane_datetime(value: dt.datetime) -> dt.datetime:
    if not 1900 <= value.year <= 9000:
        raise ValueError("use a year from 1900 to 9000")
    return value


def _sane_date(value: dt.date) -> dt.date:
    if not 1900 <= value.year <= 9000:
        raise ValueError("use a year from 1900 to 9000")
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Int = Annotated[int, Field(ge=0, le=MAX_INT)]
SmallInt = Annotated[int, Field(ge=0, le=MAX_SMALL)]
Text = Annotated[str, AfterValidator(_clean_text)]
When = Annotated[AwareDatetime, AfterValidator(_sane_datetime)]
Day = Annotated[dt.date, AfterValidator(_sane_date)]


def bounded(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_clean_text)]


Code = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_clean_text)]
# CPF/CNPJ as typed: digits, optionally formatted (only ASCII digits: "²".isdigit() is true in Python).
Document = Annotated[
    str, Field(max_length=30, pattern=r"^[0-9./\- ]*$", description="CPF/CNPJ, digits only or formatted.")
]
Username = Annotated[str, Field(min_length=1, max_length=150), AfterValidator(_clean_text)]
IdOrCode = Annotated[Id | Code, Field(description="An integer is an id; a string is a code/classification.")]
IdOrUsername = Annotated[Id | Username, Field(description="An integer is a user id; a string is a username.")]

# The models' choices are the API's enumerations (pydantic reads Django's TextChoices by value).
ChannelName = Channel
AnswerTypeName = AnswerType
StepKind = WorkflowStep.Kind
TypeKind = ServiceType.Kind
TypeCategory = ServiceType.Category
PersonKind = Person.Kind
TicketStatus = Ticket.Status
Grouping = CrmOptions.CollectionGrouping


# ---- errors ---------------------------------------------------------------------------------


class ErrorDetail(Schema):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="A stable code for programs, e.g. invalid, not_found, decision_required.")
    message: str = Field(description="A message for people, in the request's language.")
    fields: dict[str, list[str]] = Field(
        default_factory=dict, description="Per field (dotted path into the body or the parameter name), its messages."
    )


class ErrorOut(Schema):
    error: ErrorDetail


ERRORS: dict[int, type[ErrorOut]] = {code: ErrorOut for code in (400, 401, 403, 404, 409, 422, 500)}


def responses(ok: dict[int, Any]) -> dict[int, Any]:
    """An operation's responses: its success bodies and the documented error shape."""
    return {**ok, **ERRORS}


# ---- references -----------------------------------------------------------------------------


class UserRef(Schema):
    id: int
    username: str


class CrRef(Schema):
    id: int
    code: str
    description: str


class TypeRef(Schema):
    id: int
    code: str
    description: str


class CompanyRef(Schema):
    id: int
    code: str
    name: str


class PersonRef(Schema):
    id: int
    name: str
    document: str


class StepRef(Schema):
    id: int
    order: int
    kind: str


# ---- configuration --------------------------------------------------------------------------


class CrOut(Schema):
    id: int
    code: str
    description: str
    closes_process: bool
    active: bool
    members: list[str] = Field(description="Usernames; empty: any agent works this CR.")


class CrIn(Schema):
    code: Code
    description: bounded(200, 1)  # type: ignore[valid-type]
    closes_process: bool = False
    active: bool = True
    members: list[IdOrUsername] = Field(default_factory=list, max_length=1000)


class CrPatch(Schema):
    code: Code | None = None
    description: bounded(200, 1) | None = None  # type: ignore[valid-type]
    closes_process: bool | None = None
    active: bool | None = None
    members: list[IdOrUsername] | None = Field(default=None, max_length=1000)


class DecisionOptionOut(Schema):
    id: int
    label: str
    target_order: int
    position: int


class StepOut(Schema):
    id: int
    order: int
    kind: str
    cr: str | None = Field(description="The CR's classification (kind cr).")
    closes_process: bool
    next_order: int | None
    question: str
    options: list[DecisionOptionOut]
    target_workflow: str | None = Field(description="The target workflow's code (kind workflow).")
    target_order: int | None
    active: bool


class WorkflowOut(Schema):
    id: int
    code: str
    description: str
    active: bool
    steps: list[StepOut]


class DecisionOptionIn(Schema):
    id: Id | None = Field(default=None, description="Keep an existing option (renaming it); else matched by label.")
    label: bounded(200, 1)  # type: ignore[valid-type]
    target_order: Int


class StepIn(Schema):
    order: Int
    kind: StepKind = StepKind.CR
    cr: Code | None = Field(default=None, description="The CR's classification (kind cr).")
    next_order: Int | None = None
    question: bounded(300) = ""  # type: ignore[valid-type]
    options: list[DecisionOptionIn] = Field(default_factory=list, max_length=100)
    target_workflow: Code | None = Field(default=None, description="The target workflow's code (kind workflow).")
    target_order: Int | None = None
    active: bool = True


class WorkflowIn(Schema):
    code: Code
    description: bounded(200, 1)  # type: ignore[valid-type]
    active: bool = True
    steps: list[StepIn] = Field(max_length=500)


class DefinitionPatch(Schema):
    description: bounded(200, 1) | None = None  # type: ignore[valid-type]
    active: bool | None = None


class QuestionOptionOut(Schema):
    id: int
    label: str
    position: int
    checked_by_default: bool
    asks_complement: bool
    active: bool


class QuestionOut(Schema):
    id: int
    code: str
    cr: str = Field(description="The classification of the CR the question is asked in.")
    text: str
    help_text: str
    answer_type: str
    required: bool
    min_value: str | None
    max_value: str | None
    active: bool
    options: list[QuestionOptionOut]


class CycleOut(Schema):
    id: int
    code: str
    description: str
    active: bool
    questions: list[QuestionOut]


class QuestionOptionIn(Schema):
    id: Id | None = Field(default=None, description="Keep an existing option (renaming it); else matched by label.")
    label: bounded(200, 1)  # type: ignore[valid-type]
    checked_by_default: bool = False
    asks_complement: bool = False
    active: bool = True


Limit = Annotated[Decimal, Field(max_digits=18, decimal_places=4, allow_inf_nan=False)]


class QuestionIn(Schema):
    code: Code
    cr: Code = Field(description="The classification of the CR the question is asked in.")
    text: bounded(300, 1)  # type: ignore[valid-type]
    help_text: bounded(300) = ""  # type: ignore[valid-type]
    answer_type: AnswerTypeName
    required: bool = False
    min_value: Limit | None = None
    max_value: Limit | None = None
    active: bool = True
    options: list[QuestionOptionIn] = Field(default_factory=list, max_length=200)


class CycleIn(Schema):
    code: Code
    description: bounded(200, 1)  # type: ignore[valid-type]
    active: bool = True
    questions: list[QuestionIn] = Field(default_factory=list, max_length=1000)


class ServiceTypeOut(Schema):
    id: int
    code: str
    description: str
    kind: str
    category: str
    parent: str | None = Field(description="The classification of the synthetic type it sits under.")
    priority: int
    days_to_next_contact: int
    colour: str
    active_from: dt.date | None
    workflow: str | None = Field(description="The workflow's code.")
    cycle: str | None = Field(description="The service cycle's code.")
    active: bool


class ServiceTypeIn(Schema):
    code: Code
    description: bounded(200, 1)  # type: ignore[valid-type]
    kind: TypeKind = TypeKind.ANALYTICAL
    category: TypeCategory = TypeCategory.SERVICE
    priority: Annotated[int, Field(ge=1, le=5)] = 3
    days_to_next_contact: SmallInt = 1
    colour: bounded(7) = "#0d6efd"  # type: ignore[valid-type]
    active_from: Day | None = None
    workflow: Code | None = Field(default=None, description="The workflow's code.")
    cycle: Code | None = Field(default=None, description="The service cycle's code.")
    active: bool = True


class ServiceTypePatch(Schema):
    code: Code | None = None
    description: bounded(200, 1) | None = None  # type: ignore[valid-type]
    kind: TypeKind | None = None
    category: TypeCategory | None = None
    priority: Annotated[int, Field(ge=1, le=5)] | None = None
    days_to_next_contact: SmallInt | None = None
    colour: bounded(7) | None = None  # type: ignore[valid-type]
    active_from: Day | None = None
    workflow: Code | None = None
    cycle: Code | None = None
    active: bool | None = None


class CrmOptionsOut(Schema):
    use_cycle_in_followup: bool
    collection_synthetic_type: str | None = Field(description="A service type's classification.")
    collection_analytical_type: str | None = Field(description="A service type's classification.")
    collection_delegate_user: str | None = Field(description="A username.")
    automatic_note_user: str | None = Field(description="A username.")
    collection_days_overdue: int
    collection_grouping: str
    access_control_user_company: bool
    email_debtor_on_collection: bool


class CrmOptionsIn(Schema):
    """Omitted fields keep their value; null clears an optional reference."""

    use_cycle_in_followup: bool | None = None
    collection_synthetic_type: Code | None = None
    collection_analytical_type: Code | None = None
    collection_delegate_user: IdOrUsername | None = None
    automatic_note_user: IdOrUsername | None = None
    collection_days_overdue: SmallInt | None = None
    collection_grouping: Grouping | None = None
    access_control_user_company: bool | None = None
    email_debtor_on_collection: bool | None = None


# ---- people and companies -------------------------------------------------------------------


class PersonOut(Schema):
    id: int
    name: str
    kind: str
    document: str = Field(description="CPF/CNPJ digits.")
    document_display: str = Field(description="CPF/CNPJ formatted.")
    trade_name: str
    city: str
    state: str
    notes: str
    active: bool
    created_at: dt.datetime


class ContactOut(Schema):
    id: int
    name: str
    role: str
    email: str
    phone: str


class PhoneOut(Schema):
    id: int
    kind: str
    number: str


class EmailOut(Schema):
    id: int
    address: str
    label: str


class PersonDetailOut(PersonOut):
    contacts: list[ContactOut]
    phones: list[PhoneOut]
    emails: list[EmailOut]


class PersonIn(Schema):
    name: bounded(200, 1)  # type: ignore[valid-type]
    kind: PersonKind | None = Field(default=None, description="Omitted: from the document (11 digits CPF, 14 CNPJ).")
    document: Document = ""
    trade_name: bounded(200) = ""  # type: ignore[valid-type]
    city: bounded(100) = ""  # type: ignore[valid-type]
    state: bounded(2) = ""  # type: ignore[valid-type]
    notes: bounded(20000) = ""  # type: ignore[valid-type]
    active: bool = True


class PersonPatch(Schema):
    name: bounded(200, 1) | None = None  # type: ignore[valid-type]
    kind: PersonKind | None = None
    document: Document | None = None
    trade_name: bounded(200) | None = None  # type: ignore[valid-type]
    city: bounded(100) | None = None  # type: ignore[valid-type]
    state: bounded(2) | None = None  # type: ignore[valid-type]
    notes: bounded(20000) | None = None  # type: ignore[valid-type]
    active: bool | None = None


class PersonPage(Schema):
    items: list[PersonOut]
    next_cursor: str | None


class CompanyOut(Schema):
    id: int
    code: str
    name: str
    cnpj: str
    active: bool


class CompanyIn(Schema):
    code: bounded(20, 1)  # type: ignore[valid-type]
    name: bounded(200, 1)  # type: ignore[valid-type]
    cnpj: Document = ""
    active: bool = True


class CompanyPatch(Schema):
    code: bounded(20, 1) | None = None  # type: ignore[valid-type]
    name: bounded(200, 1) | None = None  # type: ignore[valid-type]
    cnpj: Document | None = None
    active: bool | None = None


# ---- tickets --------------------------------------------------------------------------------


class ContactRef(Schema):
    id: int
    name: str


class TicketListItem(Schema):
    id: int
    subject: str
    status: str
    priority: int
    channel: str
    person: PersonRef
    service_type: TypeRef
    cr: CrRef
    company: CompanyRef
    next_contact_at: dt.datetime | None
    next_contact_user: UserRef | None
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    version: int


class TicketOut(TicketListItem):
    workflow: str = Field(description="The workflow's code.")
    step: StepRef
    closes_process: bool = Field(description="The ticket's phase closes the process.")
    contact_person: ContactRef | None
    opened_by: UserRef


class TicketPage(Schema):
    items: list[TicketListItem]
    next_cursor: str | None = Field(description="Give it as `cursor` for the next page; null on the last page.")


class ChoiceIn(Schema):
    step: Id = Field(description="The decision step's id.")
    option: Id = Field(description="The chosen option's id.")


class TicketIn(Schema):
    person: Id
    service_type: IdOrCode
    subject: bounded(200, 1)  # type: ignore[valid-type]
    company: IdOrCode
    channel: ChannelName = ChannelName.PHONE
    contact_person: Id | None = None
    next_contact_at: When | None = Field(default=None, description="Omitted: the type's days to the next contact.")
    next_contact_user: IdOrUsername | None = Field(default=None, description="Omitted: the user opening it.")
    text: bounded(20000) = Field(default="", description="The opening note.")  # type: ignore[valid-type]
    choices: list[ChoiceIn] = Field(default_factory=list, max_length=100)


class NoteIn(Schema):
    text: bounded(20000, 1)  # type: ignore[valid-type]
    channel: ChannelName = ChannelName.PHONE
    next_contact_at: When | None = None
    next_contact_user: IdOrUsername | None = None
    move_on: bool = False
    choices: list[ChoiceIn] = Field(default_factory=list, max_length=100)
    override_reason: bounded(2000) = ""  # type: ignore[valid-type]
    expected_version: Int | None = Field(default=None, description="The ticket's version when read: 409 if changed.")


class MoveIn(Schema):
    step: Int = Field(description="The order of the step to move to, in the ticket's workflow.")
    reason: bounded(2000, 1)  # type: ignore[valid-type]
    choices: list[ChoiceIn] = Field(default_factory=list, max_length=100)
    expected_version: Int | None = None


class DecisionTakenOut(Schema):
    step: int
    question: str
    option: int
    label: str


class MoveOut(Schema):
    id: int
    kind: str
    from_step: int | None = Field(description="The order of the step left.")
    to_step: int = Field(description="The order of the step reached.")
    from_cr: CrRef | None
    to_cr: CrRef
    route: list[dict[str, Any]]
    decisions: list[DecisionTakenOut]
    reason: str
    overrode_required: list[dict[str, Any]]
    by: UserRef
    at: dt.datetime


class NoteOut(Schema):
    id: int
    kind: str
    text: str
    channel: str
    author: UserRef
    created_at: dt.datetime
    next_contact_at: dt.datetime | None
    next_contact_user: UserRef | None
    move: MoveOut | None


class NoteResultOut(Schema):
    note: NoteOut
    ticket: TicketOut


class MoveResultOut(Schema):
    move: MoveOut
    ticket: TicketOut


class UnlockOut(Schema):
    id: int
    cr: CrRef
    reason: str
    by: UserRef
    at: dt.datetime


class RevisionOut(Schema):
    id: int
    question: int
    question_code: str
    version: int
    old_value: Any
    new_value: Any
    by: UserRef
    at: dt.datetime


class HistoryOut(Schema):
    notes: list[NoteOut] = Field(description="Every note, oldest first, each with the move it made.")
    unlocks: list[UnlockOut]
    answer_revisions: list[RevisionOut] | None = Field(
        description="Every change of an answer; null for users who may not see them (agents)."
    )


class AnswerOut(Schema):
    value: Any = Field(description="text; number/money as a string; date YYYY-MM-DD; time HH:MM; or choices.")
    display: str
    version: int
    is_empty: bool
    answered_by: UserRef
    answered_at: dt.datetime


class CycleQuestionOut(Schema):
    id: int
    code: str
    text: str
    help_text: str
    answer_type: str
    required: bool
    active: bool
    min_value: str | None
    max_value: str | None
    options: list[QuestionOptionOut]
    version: int = Field(description="Give it back when saving: the answer's version, 0 when unanswered.")
    answer: AnswerOut | None


class PhaseOut(Schema):
    cr: CrRef
    state: Literal["current", "unlocked", "locked", "ahead"]
    questions: list[CycleQuestionOut]


class TicketCycleOut(Schema):
    ticket: int
    ticket_version: int
    phases: list[PhaseOut]


class AnswerIn(Schema):
    question: IdOrCode = Field(description="The question's id, or its classification in the ticket's cycle.")
    value: Any = Field(
        default=None,
        description="text; number; date YYYY-MM-DD or dd/mm/yyyy; time HH:MM; option ids or "
        '{option, complement} objects. Empty (null, "", []) clears the answer.',
    )
    version: Int = Field(default=0, description="The answer's version when read (0: unanswered).")


class AnswerResultOut(Schema):
    question: int
    code: str
    status: Literal["saved", "cleared", "unchanged"]
    version: int
    value: Any


class AnswersResultOut(Schema):
    results: list[AnswerResultOut]


class UnlockIn(Schema):
    cr: IdOrCode = Field(description="The CR's classification (or id).")
    reason: bounded(2000) = ""  # type: ignore[valid-type]


class TokenUser(Schema):
    id: int
    username: str
    role: str | None
