"""Definitions as files: the whole configuration travels as one bundle between installations.

The bundle (``ciclo_definitions: 1``), in JSON or YAML::

    ciclo_definitions: 1
    responsibility_centers: [{code, description, closes_process, active, default_success, stale_after_days,
                              members?}]
    workflows: [{code, description, active, steps: [{order, kind, active, …}]}]
        kind cr:       cr (a CR's code), next_order
        kind decision: question, options: [{label, target_order}]
        kind workflow: target_workflow (a workflow's code), target_order
    cycles: [{code, description, active, questions: [{code, cr, text, help_text, answer_type, required,
              min_value, max_value, active, options: [{label, checked_by_default, asks_complement, active}]}]}]
    service_types: [{code, description, kind, category, sales, priority, days_to_next_contact, colour,
                     active_from, workflow, cycle, active}]

Items refer to each other by code (a CR's, question's or type's classification, a
workflow's or cycle's code), never by database id. A reference may name an item
of the file or one already saved. Every section is optional; a missing optional
key means its default, because the file describes each item whole — except
``members`` (usernames): absent, a CR's members are left as they are (users differ
between installations, so the export leaves them out); present, they become
exactly those users. A step carries only the keys of its kind; ``options`` belong
to decisions and to the two multiple-choice answer types; ``min_value`` and
``max_value`` only to numbers and money.

The export writes every key (a step only those of its kind), keys sorted, lists in
the configuration's own order — CRs, questions and types by classification,
workflows and cycles by code, steps by order, options by position — so two
exports of the same configuration are the same text, and diff cleanly.

Matching: how an item of the file finds the saved row it describes
    As every change of the configuration does (``configurator.changes``): CR, workflow,
    cycle and type by code · step by (workflow, order) · question by (cycle, code) ·
    option by label compared without case, then the remaining ones by position.
    Codes and orders are keys: a changed key is a new item, and the old one stays. An
    option's position is its place in the file's list; saved positions are rewritten
    (1, 2, 3…) only when the file changes the options' order or adds one, so options
    the admin left at position 0 round-trip unchanged.

What an import never does
    - Delete. A saved item the file does not mention is left as it is and listed
      as "not in file, kept"; to retire it, give it ``active: false`` in the file
      (a decision's option has no such flag: it stays, and still routes, until it
      is removed in the admin). The one change a kept item may get is its group: a
      saved service type moves under a synthetic type the file adds above it.
    - Change what history depends on: the answer type of a question that has
      answers, the kind of a step that tickets have stood at or passed, the kind
      of a service type that tickets use.
    - Write anything when one error is found. The file's shape (types, required and
      unknown keys) is read here; then the configuration that would result (the file
      over the saved rows) is checked whole by ``configurator.changes``, which every
      interface shares: references, the configurator's rules, and the saved
      workflows and types the file does not mention (an error the file would cause
      in them is reported too, with the path ""). Each error carries its rule code and
      its path in the file (``workflows[1].steps[3].cr``; indexes count from 0); a
      workflow rule goes on the step it names (``workflows[1].steps[3]``). The rules of
      a workflow, cycle or type whose own values or references are wrong wait until
      those are fixed: run on a guess, they would only add noise.

Importing a bundle that matches the configuration changes nothing and writes no
history; every item created or changed writes a ``history.Change`` row with the
importing user.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import yaml
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from ciclo.configurator.changes import (
    ConfigurationInvalid,
    Plan,
    PlanItem,
    Saved,
    Status,
    _question_spec,
    import_bundle,
    plan_bundle,
)
from ciclo.configurator.classification import sort_key
from ciclo.configurator.items import (
    STEP_KEYS,
    Bundle,
    CrItem,
    CycleItem,
    DecisionOptionItem,
    Item,
    OptionItem,
    QuestionItem,
    ServiceTypeItem,
    StepItem,
    WorkflowItem,
    plain,
)
from ciclo.configurator.models import (
    AnswerType,
    DecisionOption,
    Option,
    Question,
    ResponsibilityCenter,
    ServiceCycle,
    ServiceType,
    Workflow,
    WorkflowStep,
)
from ciclo.configurator.validation import NUMERIC_TYPES, Problem, Rule, check_question, join

__all__ = [
    "BundleSyntaxError",
    "DefinitionsInvalid",
    "Plan",
    "PlanItem",
    "Problem",
    "Status",
    "apply_import",
    "canonical",
    "dump",
    "export_bundle",
    "guess_format",
    "parse",
    "plan_import",
]

FORMAT_VERSION = 1
VERSION_KEY = "ciclo_definitions"
FORMATS = ("json", "yaml")

Kind = WorkflowStep.Kind
ItemT = TypeVar("ItemT", bound=Item)

# A refused bundle: nothing was written; `plan.errors` says why.
DefinitionsInvalid = ConfigurationInvalid


class BundleSyntaxError(ValueError):
    """The text is not JSON or YAML (or repeats a key); the message says where."""


# ---- the export: a bundle as plain data, in the configuration's own order -------------------------


def _step_dict(step: StepItem) -> dict[str, Any]:
    data: dict[str, Any] = {"order": step.order, "kind": step.kind, "active": step.active}
    for key in STEP_KEYS.get(step.kind, ()):
        if key == "options":
            data["options"] = [{"label": o.label, "target_order": o.target_order} for o in step.options]
        else:
            data[key] = getattr(step, key)
    return data


def _question_dict(question: QuestionItem) -> dict[str, Any]:
    numeric = question.answer_type in NUMERIC_TYPES
    data = {
        "code": question.code,
        **question.values(),
        "min_value": plain(question.min_value) if numeric else None,
        "max_value": plain(question.max_value) if numeric else None,
    }
    if question.is_choice:
        data["options"] = [o.values() for o in question.options]
    return data


def bundle_dict(bundle: Bundle) -> dict[str, Any]:
    """A bundle as a file holds it: every key (a step only those of its kind), defaults written."""

    def cr(item: CrItem) -> dict[str, Any]:
        data = {"code": item.code, **item.values()}
        if item.members is not None:
            data["members"] = sorted(item.members)
        return data

    return {
        VERSION_KEY: FORMAT_VERSION,
        "responsibility_centers": [cr(c) for c in bundle.responsibility_centers],
        "workflows": [
            {"code": w.code, **w.values(), "steps": [_step_dict(s) for s in w.steps]} for w in bundle.workflows
        ],
        "cycles": [
            {"code": c.code, **c.values(), "questions": [_question_dict(q) for q in c.questions]} for c in bundle.cycles
        ],
        "service_types": [
            {"code": t.code, **{k: plain(v) for k, v in t.values().items()}} for t in bundle.service_types
        ],
    }


def _by_code(item: Any) -> str:
    return str(item.code)


def _by_classification(item: Any) -> tuple[str, str]:
    return sort_key(item.code), item.code


def export_bundle() -> dict[str, Any]:
    """The whole configuration as a bundle (plain data: dump it with `dump`)."""
    return bundle_dict(Saved().bundle())


def canonical(data: Any) -> dict[str, Any]:
    """A bundle as the export writes it: defaults filled in, items in the export's order.

    The export of a configuration made by importing `data` into an empty database
    equals `canonical(data)`. Raises DefinitionsInvalid when `data` is not well formed.
    """
    reader = _Reader()
    bundle = reader.bundle(data)
    if bundle is None or reader.errors:
        raise DefinitionsInvalid(Plan(items=[], errors=reader.errors))
    for workflow in bundle.workflows:
        workflow.steps.sort(key=lambda s: s.order)
    for cycle in bundle.cycles:
        cycle.questions.sort(key=_by_classification)
    bundle.responsibility_centers.sort(key=_by_classification)
    bundle.workflows.sort(key=_by_code)
    bundle.cycles.sort(key=_by_code)
    bundle.service_types.sort(key=_by_classification)
    return bundle_dict(bundle)


# ---- text: JSON and YAML ------------------------------------------------------------------------


# No value of a bundle needs more digits than this; Python itself refuses to read an integer
# of more than 4,300 (sys.get_int_max_str_digits), so the loaders never try.
MAX_DIGITS = 100


@dataclasses.dataclass(frozen=True)
class LongNumber:
    """A number of more than MAX_DIGITS digits, kept as written for the reader to refuse with its path."""

    text: str

    @property
    def digits(self) -> int:
        return sum(c.isalnum() for c in re.sub(r"^[-+]?0[xob]", "", self.text.lower()))

    def __str__(self) -> str:
        return f"{self.text[:12]}…"


def _json_int(text: str) -> int | LongNumber:
    return LongNumber(text) if len(text) > MAX_DIGITS else int(text)


def _json_float(text: str) -> float | LongNumber:
    return LongNumber(text) if len(text) > MAX_DIGITS else float(text)


_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _StrictYamlLoader(yaml.SafeLoader):
    """YAML without repeated keys (the second would silently win) and without aliases.

    Dates stay text, as in JSON: the reader checks them (a day that does not exist,
    2026-02-30, is an error on its path, not a failure of the loader); numbers too
    long to be any value of a bundle become LongNumber.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_yaml_int(self, node: Any) -> Any:
        text = self.construct_scalar(node)
        if len(text) > MAX_DIGITS:
            return LongNumber(str(text))
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: Any) -> Any:
        text = self.construct_scalar(node)
        if len(text) > MAX_DIGITS:
            return LongNumber(str(text))
        return super().construct_yaml_float(node)

    def construct_yaml_text(self, node: Any) -> Any:
        return self.construct_scalar(node)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, _("aliases (*name) are not allowed in a definitions file"), event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _value in node.value:
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, (str, int)) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, _("the key “%(key)s” appears twice") % {"key": key}, key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictYamlLoader.add_constructor("tag:yaml.org,2002:int", _StrictYamlLoader.construct_yaml_int)
_StrictYamlLoader.add_constructor("tag:yaml.org,2002:float", _StrictYamlLoader.construct_yaml_float)
_StrictYamlLoader.add_constructor(_TIMESTAMP, _StrictYamlLoader.construct_yaml_text)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def guess_format(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    return None


def parse(text: str, fmt: str | None = None) -> Any:
    """The data of a bundle's text; `fmt` None: JSON when it starts with "{", else YAML."""
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "yaml"
    if fmt == "json":

        def no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            data: dict[str, Any] = {}
            for key, value in pairs:
                if key in data:
                    raise BundleSyntaxError(_("not valid JSON: the key “%(key)s” appears twice.") % {"key": key})
                data[key] = value
            return data

        def refuse(constant: str) -> Any:
            raise BundleSyntaxError(
                _("not valid JSON: %(constant)s is not a number JSON allows.") % {"constant": constant}
            )

        try:
            return json.loads(
                text, object_pairs_hook=no_repeats, parse_constant=refuse, parse_int=_json_int, parse_float=_json_float
            )
        except json.JSONDecodeError as exc:
            raise BundleSyntaxError(
                _("not valid JSON: line %(line)s, column %(column)s: %(problem)s.")
                % {"line": exc.lineno, "column": exc.colno, "problem": exc.msg}
            ) from None
        except RecursionError:
            raise BundleSyntaxError(_("not valid JSON: it nests too deep.")) from None
    try:
        return yaml.load(text, Loader=_StrictYamlLoader)
    except yaml.MarkedYAMLError as exc:
        mark, problem = exc.problem_mark, exc.problem or exc.context or ""
        if mark is not None:
            problem = _("line %(line)s, column %(column)s: %(problem)s") % {
                "line": mark.line + 1,
                "column": mark.column + 1,
                "problem": problem,
            }
        raise BundleSyntaxError(_("not valid YAML: %(problem)s.") % {"problem": problem}) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise BundleSyntaxError(_("not valid YAML: %(problem)s.") % {"problem": exc}) from None


def dump(data: dict[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=True, default_flow_style=False, width=120)


# ---- reading a bundle: shape and values, each error with its path --------------------------------


class _Bad(Exception):
    pass


_INVALID: Any = object()


@dataclasses.dataclass(frozen=True)
class _Key:
    kind: str  # text | code | int | bool | number | date | list
    field: Any = None  # the model field whose rules the value must pass
    required: bool = False
    default: Any = None  # a tuple stands for a new list
    null: bool = False  # null (an empty YAML value) is allowed
    choices: tuple[str, ...] = ()

    def initial(self) -> Any:
        return list(self.default) if isinstance(self.default, tuple) else self.default


def _f(model: type[models.Model], name: str) -> Any:
    return model._meta.get_field(name)


_CR_CODE = _f(ResponsibilityCenter, "code")
_WF_CODE = _f(Workflow, "code")
_CYCLE_CODE = _f(ServiceCycle, "code")
_LIST = _Key("list", default=())


def _bool(default: bool) -> _Key:
    return _Key("bool", default=default)


_KEYS_CR = {
    "code": _Key("code", _CR_CODE, required=True),
    "description": _Key("text", _f(ResponsibilityCenter, "description"), required=True),
    "closes_process": _bool(False),
    "active": _bool(True),
    "default_success": _Key("int", _f(ResponsibilityCenter, "default_success"), null=True),
    "stale_after_days": _Key("int", _f(ResponsibilityCenter, "stale_after_days"), null=True),
    "members": _Key("list", null=True),
}
_KEYS_WORKFLOW = {
    "code": _Key("code", _WF_CODE, required=True),
    "description": _Key("text", _f(Workflow, "description"), required=True),
    "active": _bool(True),
    "steps": _LIST,
}
_KEYS_STEP = {
    "order": _Key("int", _f(WorkflowStep, "order"), required=True),
    "kind": _Key("text", required=True, choices=tuple(Kind.values)),
    "active": _bool(True),
    "cr": _Key("code", _CR_CODE, null=True),
    "next_order": _Key("int", _f(WorkflowStep, "next_order"), null=True),
    "question": _Key("text", _f(WorkflowStep, "question"), default=""),
    "options": _LIST,
    "target_workflow": _Key("code", _WF_CODE, null=True),
    "target_order": _Key("int", _f(WorkflowStep, "target_order"), null=True),
}
_KEYS_DECISION_OPTION = {
    "label": _Key("text", _f(DecisionOption, "label"), required=True),
    "target_order": _Key("int", _f(DecisionOption, "target_order"), required=True),
}
_KEYS_CYCLE = {
    "code": _Key("code", _CYCLE_CODE, required=True),
    "description": _Key("text", _f(ServiceCycle, "description"), required=True),
    "active": _bool(True),
    "questions": _LIST,
}
_KEYS_QUESTION = {
    "code": _Key("code", _f(Question, "code"), required=True),
    "cr": _Key("code", _CR_CODE, required=True),
    "text": _Key("text", _f(Question, "text"), required=True),
    "help_text": _Key("text", _f(Question, "help_text"), default=""),
    "answer_type": _Key("text", required=True, choices=tuple(AnswerType.values)),
    "required": _bool(False),
    "min_value": _Key("number", _f(Question, "min_value"), null=True),
    "max_value": _Key("number", _f(Question, "max_value"), null=True),
    "active": _bool(True),
    "options": _LIST,
}
_KEYS_OPTION = {
    "label": _Key("text", _f(Option, "label"), required=True),
    "checked_by_default": _bool(False),
    "asks_complement": _bool(False),
    "active": _bool(True),
}
_KEYS_TYPE = {
    "code": _Key("code", _f(ServiceType, "code"), required=True),
    "description": _Key("text", _f(ServiceType, "description"), required=True),
    "kind": _Key("text", default=ServiceType.Kind.ANALYTICAL.value, choices=tuple(ServiceType.Kind.values)),
    "category": _Key("text", default=ServiceType.Category.SERVICE.value, choices=tuple(ServiceType.Category.values)),
    "sales": _bool(False),
    "priority": _Key("int", _f(ServiceType, "priority"), default=3),
    "days_to_next_contact": _Key("int", _f(ServiceType, "days_to_next_contact"), default=1),
    "colour": _Key("text", _f(ServiceType, "colour"), default="#0d6efd"),
    "active_from": _Key("date", _f(ServiceType, "active_from"), null=True),
    "workflow": _Key("code", _WF_CODE, null=True),
    "cycle": _Key("code", _CYCLE_CODE, null=True),
    "active": _bool(True),
}
_SECTIONS = ("responsibility_centers", "workflows", "cycles", "service_types")


_join = join


class _Reader:
    def __init__(self) -> None:
        self.errors: list[Problem] = []

    def error(self, path: str, message: str, rule: Rule = Rule.INVALID) -> None:
        self.errors.append(Problem(rule, message, path))

    def value(self, key: _Key, raw: Any, path: str) -> Any:
        try:
            return self._value(key, raw)
        except _Bad as exc:
            self.error(path, str(exc))
            return _INVALID

    def _value(self, key: _Key, raw: Any) -> Any:
        field = key.field
        if raw is None:
            if key.kind == "list" or key.null:
                return key.initial()
            if key.kind == "text" and key.default == "":
                return ""
            raise _Bad(_("A value is needed here (it is empty)."))
        if isinstance(raw, LongNumber):
            raise _Bad(
                _("This number has %(count)s digits: a number in a definitions file has at most %(limit)s.")
                % {"count": raw.digits, "limit": MAX_DIGITS}
            )
        if key.kind == "text":
            if not isinstance(raw, str):
                raise _Bad(_("Write text here."))
            if key.required and not raw.strip():
                raise _Bad(_("This must not be empty."))
            if key.choices and raw not in key.choices:
                raise _Bad(
                    _("“%(value)s” is not one of: %(choices)s.") % {"value": raw, "choices": ", ".join(key.choices)}
                )
        elif key.kind == "code":
            if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                raise _Bad(_("Write a code here."))
            if isinstance(raw, float):
                # YAML reads 1.10 as the number 1.1: the code cannot be told from it.
                raise _Bad(_('Put the code in quotes, such as "1.10": written bare, it reads as a number.'))
            raw = str(raw)
        elif key.kind == "int":
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise _Bad(_("Write a whole number here."))
        elif key.kind == "bool":
            if not isinstance(raw, bool):
                raise _Bad(_("Write true or false here."))
            return raw
        elif key.kind == "number":
            raw = self._decimal(raw)
        elif key.kind == "date":
            if isinstance(raw, str):
                try:
                    raw = dt.date.fromisoformat(raw)
                except ValueError:
                    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
                        raise _Bad(
                            _("There is no day %(value)s in the calendar: write a date that exists, as YYYY-MM-DD.")
                            % {"value": raw}
                        ) from None
                    raise _Bad(_("Write a date as YYYY-MM-DD.")) from None
            if isinstance(raw, dt.datetime) or not isinstance(raw, dt.date):
                raise _Bad(_("Write a date as YYYY-MM-DD."))
        elif key.kind == "list":
            if not isinstance(raw, list):
                raise _Bad(_("Write a list here."))
            return raw
        if isinstance(raw, str) and "\x00" in raw:
            raise _Bad(_("The text has a NUL character."))
        if field is not None:
            try:
                raw = field.clean(raw, None)
            except ValidationError as exc:
                raise _Bad(" ".join(exc.messages)) from None
        return raw

    def _decimal(self, raw: Any) -> Decimal:
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str, Decimal)):
            raise _Bad(_("Write a number here."))
        if isinstance(raw, float):
            if not math.isfinite(raw):
                raise _Bad(_("Write a number here."))
            raw = repr(raw)
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise _Bad(_("Write a number here.")) from None
        if not number.is_finite():
            raise _Bad(_("Write a number here."))
        return number

    def mapping(self, raw: Any, path: str, keys: dict[str, _Key]) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            self.error(path, _("Write a mapping (key: value pairs) here."))
            return None
        for name in sorted(str(k) for k in raw if k not in keys):
            self.error(_join(path, name), _("Unknown key."), Rule.UNKNOWN_KEY)
        values: dict[str, Any] = {}
        for name, key in keys.items():
            if name in raw:
                values[name] = self.value(key, raw[name], _join(path, name))
            elif key.required:
                self.error(_join(path, name), _("This key is required."), Rule.REQUIRED)
                values[name] = _INVALID
            else:
                values[name] = key.initial()
        return values

    def items(self, raw: Any, path: str, keys: dict[str, _Key]) -> Iterable[tuple[str, dict[str, Any]]]:
        """Each mapping of a list with its path; what is not a mapping is an error."""
        for index, item in enumerate(raw or []):
            item_path = _join(path, index)
            values = self.mapping(item, item_path, keys)
            if values is not None:
                yield item_path, values

    def bundle(self, data: Any) -> Bundle | None:
        if data is None:
            self.error("", _("The file is empty."))
            return None
        if not isinstance(data, dict):
            self.error("", _("A definitions file is a mapping with the key “%(key)s”.") % {"key": VERSION_KEY})
            return None
        version = data.get(VERSION_KEY)
        if VERSION_KEY not in data:
            self.error(
                VERSION_KEY,
                _("This key is required: it says which version of the format the file uses (1)."),
                Rule.REQUIRED,
            )
        elif isinstance(version, bool) or version != FORMAT_VERSION:
            self.error(
                VERSION_KEY,
                _("Version %(version)s is not supported: this Ciclo reads version %(supported)s.")
                % {"version": version, "supported": FORMAT_VERSION},
            )
            return None
        for name in sorted(str(k) for k in data if k not in (VERSION_KEY, *_SECTIONS)):
            self.error(name, _("Unknown key."), Rule.UNKNOWN_KEY)
        sections: dict[str, list[Any]] = {}
        for name in _SECTIONS:
            raw = data.get(name)
            if raw is not None and not isinstance(raw, list):
                self.error(name, _("Write a list here."))
                raw = None
            sections[name] = raw or []
        return Bundle.model_construct(
            responsibility_centers=[
                self.cr(p, v)
                for p, v in self.items(sections["responsibility_centers"], "responsibility_centers", _KEYS_CR)
            ],
            workflows=[self.workflow(p, v) for p, v in self.items(sections["workflows"], "workflows", _KEYS_WORKFLOW)],
            cycles=[self.cycle(p, v) for p, v in self.items(sections["cycles"], "cycles", _KEYS_CYCLE)],
            service_types=[
                self.service_type(p, v) for p, v in self.items(sections["service_types"], "service_types", _KEYS_TYPE)
            ],
        )

    @staticmethod
    def _broken(values: dict[str, Any]) -> bool:
        return any(v is _INVALID for v in values.values())

    @staticmethod
    def _make(model: type[ItemT], path: str, values: dict[str, Any], **extra: Any) -> ItemT:
        """The item, with invalid values replaced by the defaults so the rest can still be checked."""
        fields = model.model_fields
        clean = {}
        for name, value in values.items():
            if name not in fields:
                continue
            if value is _INVALID:
                field = fields[name]
                value = "" if field.is_required() else field.get_default(call_default_factory=True)
            clean[name] = value
        item = model.model_construct(**{**clean, **extra})
        item.path = path
        item.broken = any(v is _INVALID for v in values.values())
        return item

    def cr(self, path: str, values: dict[str, Any]) -> CrItem:
        members = values.pop("members")
        item = self._make(CrItem, path, values, members=None)
        if members is not None and members is not _INVALID:
            names: list[str] = []
            for index, name in enumerate(members):
                if not isinstance(name, str) or not name.strip():
                    self.error(_join(_join(path, "members"), index), _("Write a username here."))
                    item.broken = True
                else:
                    names.append(name)
            item.members = names
        elif members is _INVALID:
            item.broken = True
        return item

    def workflow(self, path: str, values: dict[str, Any]) -> WorkflowItem:
        steps_raw = values.pop("steps")
        item = self._make(WorkflowItem, path, values, steps=[])
        if steps_raw is _INVALID:
            item.broken = True
            return item
        for step_path, step_values in self.items(steps_raw, _join(path, "steps"), _KEYS_STEP):
            item.steps.append(self.step(step_path, step_values))
        if len(item.steps) != len(steps_raw or []) or any(s.broken for s in item.steps):
            item.broken = True
        return item

    def step(self, path: str, values: dict[str, Any]) -> StepItem:
        options_raw = values.pop("options")
        step = self._make(StepItem, path, values, options=[])
        if values.get("order") is _INVALID:
            step.order = 0
        if options_raw is _INVALID:
            step.broken = True
            options_raw = []
        for option_path, option_values in self.items(options_raw, _join(path, "options"), _KEYS_DECISION_OPTION):
            if self._broken(option_values):
                step.broken = True
            else:
                step.options.append(self._make(DecisionOptionItem, option_path, option_values, id=None))
        if len(step.options) != len(options_raw):
            step.broken = True
        own = STEP_KEYS.get(step.kind)
        if own is None:
            return step
        # A step carries only what its kind uses.
        misplaced = {
            "cr": _("Only a CR step has a responsibility center."),
            "next_order": _("Only a CR step has a next order."),
            "question": _("Only a decision step has a question."),
            "options": _("Only a decision step has options."),
            "target_workflow": _("Only a jump step has a target workflow."),
            "target_order": _("Only a jump step has a target order."),
        }
        for key, message in misplaced.items():
            value = options_raw if key == "options" else getattr(step, key)
            if key not in own and value not in (None, "", []):
                self.error(_join(path, key), message)
                step.broken = True
        return step

    def cycle(self, path: str, values: dict[str, Any]) -> CycleItem:
        questions_raw = values.pop("questions")
        item = self._make(CycleItem, path, values, questions=[])
        if questions_raw is _INVALID:
            item.broken = True
            return item
        for question_path, question_values in self.items(questions_raw, _join(path, "questions"), _KEYS_QUESTION):
            item.questions.append(self.question(question_path, question_values))
        if len(item.questions) != len(questions_raw or []):
            item.broken = True
        return item

    def question(self, path: str, values: dict[str, Any]) -> QuestionItem:
        options_raw = values.pop("options")
        answer_type_invalid = values["answer_type"] is _INVALID
        question = self._make(QuestionItem, path, values, options=[])
        if options_raw is _INVALID:
            question.broken = True
            options_raw = []
        for option_path, option_values in self.items(options_raw, _join(path, "options"), _KEYS_OPTION):
            if self._broken(option_values):
                question.broken = True
            else:
                question.options.append(self._make(OptionItem, option_path, option_values, id=None))
        if len(question.options) != len(options_raw):
            question.broken = True
        if answer_type_invalid:
            return question
        # The question's own shape here; its options' labels and states once the keys and saved rows are known.
        shape = {Rule.LIMITS_TYPE, Rule.LIMITS_ORDER, Rule.OPTIONS_TYPE}
        for problem in check_question(_question_spec(question, [])):
            if problem.rule in shape:
                self.error(_join(path, problem.path), problem.message, problem.rule)
                question.broken = True
        return question

    def service_type(self, path: str, values: dict[str, Any]) -> ServiceTypeItem:
        return self._make(ServiceTypeItem, path, values)


# ---- the operations -----------------------------------------------------------------------------


def read_bundle(data: Any) -> tuple[Bundle | None, list[Problem]]:
    """The items of a parsed bundle, and every error of its shape (each with its path)."""
    reader = _Reader()
    return reader.bundle(data), reader.errors


def plan_import(data: Any) -> Plan:
    """What importing `data` (a parsed bundle) would do, and every error that stops it. Writes nothing."""
    bundle, errors = read_bundle(data)
    return plan_bundle(bundle, errors)


def apply_import(data: Any, by: Any) -> Plan:
    """Import `data` in one transaction, recording each change as `by`; refused whole when invalid.

    Raises DefinitionsInvalid (nothing written) when the bundle has any error.
    """
    bundle, errors = read_bundle(data)
    return import_bundle(bundle, by, errors)
