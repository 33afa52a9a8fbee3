"""The API through a client generated from its own OpenAPI schema, as an ERP would integrate it.

The client is generated at test time (openapi-python-client, into a temporary folder: no generated
code is kept) and talks HTTP to a real server (pytest-django's live_server).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ciclo.accounts.tokens import create_token
from ciclo.api.api import api
from tests.factory import make_cpf

PACKAGE = "ciclo_client"


def operations(schema: dict[str, Any]) -> set[str]:
    return {op["operationId"] for methods in schema["paths"].values() for op in methods.values()}


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, str, set[str]]:
    """The generated client's package, what the generator printed, and the schema's operations."""
    folder = tmp_path_factory.mktemp("generated-client")
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    (folder / "openapi.json").write_text(json.dumps(schema, default=str))
    # No post hooks: the generated code is not formatted, only imported.
    (folder / "config.json").write_text(json.dumps({"package_name_override": PACKAGE, "post_hooks": []}))
    command = ["generate", "--path", "openapi.json", "--config", "config.json"]
    done = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", *command, "--output-path", f"out/{PACKAGE}", "--meta", "none"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    printed = done.stdout + done.stderr
    assert done.returncode == 0, printed
    sys.path.insert(0, str(folder / "out"))
    try:
        package = importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder / "out"))
    return package, printed, operations(schema)


def client_module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_every_operation_is_generated_without_a_warning(generated):
    package, printed, ops = generated
    assert "warning" not in printed.lower(), printed
    modules = {path.stem for path in Path(package.__file__).parent.glob("api/*/*.py") if path.stem != "__init__"}
    assert modules == ops and len(ops) > 40
    models = client_module("models")
    # Each enumeration under its own name, with its own values.
    assert {m.value for m in models.PersonKind} == {"individual", "legal"}
    assert {m.value for m in models.StepKind} == {"cr", "decision", "workflow"}
    assert {m.value for m in models.ServiceTypeKind} == {"synthetic", "analytical"}


def test_a_scenario_through_the_generated_client(generated, live_server, agent, sales):
    models = client_module("models")
    client = client_module("client").AuthenticatedClient(
        base_url=live_server.url, token=create_token(agent, name="generated")[1], raise_on_unexpected_status=True
    )

    def call(operation: str, **kw: Any) -> Any:
        tag = {"create_person": "people"}.get(operation, "tickets")
        return client_module(f"api.{tag}.{operation}").sync_detailed(client=client, **kw)

    # A person, and a ticket for them.
    created = call("create_person", body=models.PersonIn(name="Cliente Gerado", document=make_cpf()))
    assert created.status_code == 201, created.content
    person = created.parsed
    assert person.kind == models.PersonKind.INDIVIDUAL
    opened = call(
        "create_ticket",
        body=models.TicketIn(person=person.id, service_type="1.1", company=sales.company.pk, subject="Quer um ERP"),
    )
    assert opened.status_code == 201, opened.content
    ticket = opened.parsed
    assert ticket.cr.code == "1" and ticket.status == models.TicketStatus.OPEN

    # The cycle offers the default option as a suggestion; the required origin is answered.
    cycle = call("ticket_cycle", id=ticket.id).parsed
    questions = {q.code: q for q in cycle.phases[0].questions}
    assert [o.label for o in questions["1.08"].options if o.checked_by_default] == ["ERP"]
    origin = next(o for o in questions["1.07"].options if o.label == "Site")
    saved = call("save_ticket_answers", id=ticket.id, body=[models.AnswerIn(question="1.07", value=[origin.id])])
    assert saved.status_code == 200, saved.content
    [result] = saved.parsed.results
    assert result.question == "1.07" and result.status == "saved"

    # A note moves on to the proposal; the next one meets the decision, which the error describes.
    moved = call("add_note", id=ticket.id, body=models.NoteIn(text="Proposta enviada", move_on=True))
    assert moved.status_code == 201, moved.content
    assert moved.parsed.ticket.cr.code == "2" and moved.parsed.ticket.version == ticket.version + 1
    refused = call("add_note", id=ticket.id, body=models.NoteIn(text="Fechou?", move_on=True))
    assert refused.status_code == 422
    decision = refused.parsed.error.decision
    assert isinstance(refused.parsed.error, models.DecisionRequiredError)
    assert decision.step == sales.decision.order and decision.workflow == "vendas"
    yes = next(o for o in decision.options if o.label == "Sim")
    choice = models.ChoiceIn(step=decision.step, option=yes.id)
    closed = call("add_note", id=ticket.id, body=models.NoteIn(text="Fechou!", move_on=True, choices=[choice]))
    assert closed.status_code == 201, closed.content
    assert closed.parsed.ticket.status == models.TicketStatus.CLOSED
    assert [d.label for d in closed.parsed.note.move.decisions] == ["Sim"]

    # The cycle reads back the answer given, and no answer for the default nobody saved.
    cycle = call("ticket_cycle", id=ticket.id).parsed
    questions = {q.code: q for p in cycle.phases for q in p.questions}
    answer = questions["1.07"].answer
    assert answer.answer_type == models.AnswerType.SINGLE_CHOICE
    assert [(c.option, c.label) for c in answer.value] == [(origin.id, "Site")]
    assert questions["1.08"].answer is None
