from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ciclo.tickets.answering import AnswerInput, save_answers
from ciclo.tickets.models import Answer, AnswerRevision, CrUnlock, Note, PhaseMove, Ticket
from ciclo.tickets.routing import record_note
from tests.factory import make_ticket
from tests.test_routing import chain_a_second_decision


@pytest.fixture
def ticket(sales, agent):
    return make_ticket(sales, agent)


def url(name, *args):
    return reverse(name, args=args)


def answer_fields(question, value, version=0, original=""):
    data = {f"shown-{question.pk}": "1", f"v-{question.pk}": str(version), f"o-{question.pk}": original}
    data[f"q-{question.pk}"] = value
    return data


# --- the page -------------------------------------------------------------------------------------


def test_the_page_shows_header_cycle_and_timeline(client, sales, agent, ticket):
    client.force_login(agent)
    response = client.get(url("ticket", ticket.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert ticket.subject in html and ticket.person.name in html
    assert sales.type.colour in html
    assert "Prospecção" in html and "Fechou negócio?" not in html  # the decision is further on
    assert f'id="q-{sales.q_text.pk}"' in html and 'maxlength="100"' in html
    assert 'type="date"' in html and 'type="time"' in html
    # the default-checked option is pre-selected
    assert f'id="opt-{sales.o_erp.pk}" value="{sales.o_erp.pk}" checked' in html


def test_the_header_shows_the_priority_with_its_meaning(client, agent, ticket):
    client.force_login(agent)
    html = client.get(url("ticket", ticket.pk)).content.decode()
    assert '<dd class="mb-0">2 – high</dd>' in html  # the sales type's priority 2, not a bare number


def test_anonymous_goes_to_login(client, ticket):
    response = client.get(url("ticket", ticket.pk))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_ticket_of_a_company_not_allowed_is_not_found(client, sales, agent, ticket):
    from ciclo.configurator.models import CrmOptions

    options = CrmOptions.current()
    options.access_control_user_company = True
    options.save()
    client.force_login(agent)
    assert client.get(url("ticket", ticket.pk)).status_code == 404
    assert client.post(url("ticket_note", ticket.pk), {"text": "x"}).status_code == 404


def test_a_user_without_role_is_refused(client, ticket, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="x")
    client.force_login(nobody)
    assert client.get(url("ticket", ticket.pk)).status_code == 403


def test_wrong_methods(client, agent, ticket):
    client.force_login(agent)
    assert client.get(url("ticket_note", ticket.pk)).status_code == 405
    assert client.get(url("ticket_answers", ticket.pk)).status_code == 405
    assert client.post(url("ticket", ticket.pk)).status_code == 405


def test_the_page_makes_the_same_queries_with_many_questions_and_history(client, sales, agent, supervisor):
    from ciclo.configurator.models import Question

    small = make_ticket(sales, agent)
    save_answers(small, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=agent)
    for i in range(40):
        Question.objects.create(
            cycle=sales.cycle, cr=sales.cr_prospect, code=f"1.{20 + i}", text=f"Pergunta {i}", answer_type="short_text"
        )
    big = make_ticket(sales, agent)
    save_answers(big, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=agent)
    for i in range(60):
        record_note(big, by=agent, text=f"contato {i}")
    client.force_login(supervisor)
    client.get(url("ticket", small.pk))  # the session's first request may write it
    counts = []
    for t in (small, big):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url("ticket", t.pk)).status_code == 200
        counts.append(len(ctx))
    # The session; the user with its role; the ticket (with whether the user may work it); the users to pass
    # it to; the workflow's steps and their options; the user's permissions; answers; their choices; phases
    # visited; phases unlocked; the cycle's questions and their options (the note form's required questions
    # are read off them); the notes; the timeline's unlocks.
    assert counts == [15, 15], counts


# --- notes and moves --------------------------------------------------------------------------------


def test_recording_a_note_writes_history(client, agent, ticket):
    client.force_login(agent)
    response = client.post(url("ticket_note", ticket.pk), {"text": "Cliente atendeu", "channel": "whatsapp"})
    assert response.status_code == 302
    note = Note.objects.filter(ticket=ticket).latest("id")
    assert (note.text, note.channel, note.author) == ("Cliente atendeu", "whatsapp", agent)


def test_an_empty_note_is_refused_beside_its_field(client, agent, ticket):
    client.force_login(agent)
    response = client.post(url("ticket_note", ticket.pk), {"text": " "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "invalid-feedback" in response.content.decode()
    assert ticket.notes.count() == 1


def test_a_bad_next_contact_is_refused(client, agent, ticket):
    client.force_login(agent)
    response = client.post(url("ticket_note", ticket.pk), {"text": "x", "next_contact_at": "amanhã"})
    assert response.status_code == 422
    assert ticket.notes.count() == 1


def test_required_questions_block_and_are_listed(client, sales, agent, ticket):
    client.force_login(agent)
    response = client.post(url("ticket_note", ticket.pk), {"text": "avançar", "move_on": "1"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Origem" in html and f'href="#q-{sales.q_single.pk}"' in html
    assert PhaseMove.objects.filter(ticket=ticket).count() == 1


def test_moving_through_a_decision_into_a_closing_cr(client, sales, agent, ticket):
    client.force_login(agent)
    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=agent)
    client.post(url("ticket_note", ticket.pk), {"text": "Proposta", "move_on": "1"})
    page = client.get(url("ticket", ticket.pk)).content.decode()
    assert "Fechou negócio?" in page and "closes the ticket" in page
    response = client.post(
        url("ticket_note", ticket.pk), {"text": "sem escolha", "move_on": "1"}, HTTP_HX_REQUEST="true"
    )
    assert "Fechou negócio?" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).cr == sales.cr_proposal
    response = client.post(
        url("ticket_note", ticket.pk),
        {"text": "Fechou!", "move_on": "1", f"choice-{sales.decision.pk}": str(sales.yes.pk)},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    ticket.refresh_from_db()
    assert ticket.is_closed
    assert PhaseMove.objects.filter(ticket=ticket).latest("id").decisions.get().label == "Sim"


def test_an_agent_outside_the_cr_cannot_record(client, sales, agent, outsider, ticket):
    sales.cr_prospect.members.add(agent)
    client.force_login(outsider)
    response = client.post(url("ticket_note", ticket.pk), {"text": "oi"})
    assert response.status_code == 422
    assert ticket.notes.count() == 1


def test_supervisor_override_and_move(client, sales, supervisor, agent, ticket):
    client.force_login(supervisor)
    client.post(url("ticket_note", ticket.pk), {"text": "força", "move_on": "1", "override_reason": "urgente"})
    ticket.refresh_from_db()
    assert ticket.cr == sales.cr_proposal
    response = client.post(url("ticket_move", ticket.pk), {"step": sales.step_closed.pk, "reason": "Desistiu"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.is_closed
    assert PhaseMove.objects.filter(ticket=ticket).latest("id").reason == "Desistiu"


def test_an_agent_cannot_use_the_supervisor_move(client, sales, agent, ticket):
    client.force_login(agent)
    assert client.post(url("ticket_move", ticket.pk), {"step": sales.step_closed.pk, "reason": "x"}).status_code == 403


def test_a_move_without_reason_is_refused(client, sales, supervisor, ticket):
    client.force_login(supervisor)
    client.post(url("ticket_move", ticket.pk), {"step": sales.step_closed.pk, "reason": ""})
    ticket.refresh_from_db()
    assert not ticket.is_closed


# --- the cycle -------------------------------------------------------------------------------------


def test_saving_answers_of_each_type(client, sales, agent, ticket, settings):
    settings.LANGUAGE_CODE = "pt-br"  # numbers typed as a Brazilian types them
    s = sales
    client.force_login(agent)
    data = {}
    data.update(answer_fields(s.q_text, "Carlos"))
    data.update(answer_fields(s.q_memo, "linha 1\nlinha 2"))
    data.update(answer_fields(s.q_number, "1.234,5"))
    data.update(answer_fields(s.q_money, "R$ 2.500,90"))
    data.update(answer_fields(s.q_date, "2026-12-24"))
    data.update(answer_fields(s.q_time, "16:45"))
    data.update(answer_fields(s.q_single, str(s.o_referral.pk)))
    data[f"c-{s.q_single.pk}-{s.o_referral.pk}"] = "Maria"
    data.update(answer_fields(s.q_multi, [str(s.o_erp.pk), str(s.o_crm.pk)], original="[]"))
    response = client.post(url("ticket_answers", ticket.pk), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'data-testid="cycle-success"' in response.content.decode()
    answers = {a.question_id: a for a in Answer.objects.filter(ticket=ticket)}
    assert len(answers) == 8
    assert str(answers[s.q_number.pk].value_number) == "1234.5000"
    assert str(answers[s.q_money.pk].value_number) == "2500.9000"
    assert answers[s.q_single.pk].value()[0]["complement"] == "Maria"
    assert AnswerRevision.objects.filter(ticket=ticket).count() == 8


def test_untouched_questions_are_not_saved(client, sales, agent, ticket):
    client.force_login(agent)
    save_answers(ticket, [AnswerInput(sales.q_text.pk, "Ana")], by=agent)
    data = answer_fields(sales.q_text, "Ana", version=1, original="Ana")
    data.update(answer_fields(sales.q_memo, "novo"))
    client.post(url("ticket_answers", ticket.pk), data, HTTP_HX_REQUEST="true")
    assert Answer.objects.get(question=sales.q_text).version == 1
    assert Answer.objects.get(question=sales.q_memo).value_text == "novo"


def test_invalid_values_are_marked_and_nothing_is_saved(client, sales, agent, ticket):
    client.force_login(agent)
    data = answer_fields(sales.q_text, "válido")
    data.update(answer_fields(sales.q_time, "25:00"))
    response = client.post(url("ticket_answers", ticket.pk), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert f'data-testid="error-{sales.q_time.pk}"' in html and "HH:MM" in html
    assert not Answer.objects.exists()
    # without htmx, the real status
    assert client.post(url("ticket_answers", ticket.pk), data).status_code == 422


def test_a_conflict_is_reported_with_their_value_and_resolved(client, sales, agent, supervisor, ticket):
    client.force_login(agent)
    save_answers(ticket, [AnswerInput(sales.q_text.pk, "do supervisor")], by=supervisor)
    # the agent's page was read before: version 0, blank
    response = client.post(
        url("ticket_answers", ticket.pk), answer_fields(sales.q_text, "do agente"), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert f'data-testid="conflict-{sales.q_text.pk}"' in html and "do supervisor" in html
    assert Answer.objects.get().value_text == "do supervisor"
    # the user keeps theirs: nothing changes
    data = answer_fields(sales.q_text, "do agente", version=1)
    data[f"resolve-{sales.q_text.pk}"] = "theirs"
    client.post(url("ticket_answers", ticket.pk), data, HTTP_HX_REQUEST="true")
    assert Answer.objects.get().value_text == "do supervisor"
    # or uses theirs... mine
    data[f"resolve-{sales.q_text.pk}"] = "mine"
    client.post(url("ticket_answers", ticket.pk), data, HTTP_HX_REQUEST="true")
    answer = Answer.objects.get()
    assert answer.value_text == "do agente" and answer.version == 2


def test_unlocking_an_earlier_phase(client, sales, agent, ticket):
    client.force_login(agent)
    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=agent)
    record_note(ticket, by=agent, text="a", move_on=True)
    html = client.get(url("ticket", ticket.pk)).content.decode()
    assert url("ticket_unlock", ticket.pk, sales.cr_prospect.pk) in html
    # locked inputs are not read
    client.post(url("ticket_answers", ticket.pk), answer_fields(sales.q_text, "tarde"), HTTP_HX_REQUEST="true")
    assert not Answer.objects.filter(question=sales.q_text).exists()
    response = client.post(
        url("ticket_unlock", ticket.pk, sales.cr_prospect.pk),
        {f"reason-{sales.cr_prospect.pk}": "Cliente corrigiu"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert CrUnlock.objects.get(ticket=ticket).by == agent
    client.post(url("ticket_answers", ticket.pk), answer_fields(sales.q_text, "agora sim"), HTTP_HX_REQUEST="true")
    assert Answer.objects.get(question=sales.q_text).value_text == "agora sim"


def test_unlocking_the_current_phase_is_refused(client, sales, agent, ticket):
    client.force_login(agent)
    response = client.post(url("ticket_unlock", ticket.pk, sales.cr_prospect.pk))
    assert response.status_code == 422
    assert not CrUnlock.objects.exists()


def test_a_closed_ticket_shows_and_takes_answers(client, sales, agent, ticket):
    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=agent)
    record_note(ticket, by=agent, text="a", move_on=True)
    record_note(ticket, by=agent, text="b", move_on=True, choices={sales.decision.pk: sales.yes.pk})
    client.force_login(agent)
    client.post(url("ticket_answers", ticket.pk), answer_fields(sales.q_closed, "Ótimo"), HTTP_HX_REQUEST="true")
    assert Answer.objects.get(question=sales.q_closed).value_text == "Ótimo"


def test_an_outsider_sees_the_cycle_but_cannot_save(client, sales, agent, outsider, ticket):
    sales.cr_prospect.members.add(agent)
    client.force_login(outsider)
    html = client.get(url("ticket", ticket.pk)).content.decode()
    assert 'data-testid="save-answers"' not in html
    response = client.post(url("ticket_answers", ticket.pk), answer_fields(sales.q_text, "x"))
    assert response.status_code in (403, 200)
    assert not Answer.objects.exists()


def test_numbers_follow_the_english_locale_too(client, sales, agent, ticket):
    client.force_login(agent)
    data = answer_fields(sales.q_money, "2,500.90")
    client.post(url("ticket_answers", ticket.pk), data, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
    assert str(Answer.objects.get().value_number) == "2500.9000"


# --- the route ahead: decisions asked up front (chained ones too) ----------------------------------


def at_the_proposal(sales, agent, ticket):
    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=agent)
    record_note(ticket, by=agent, text="Proposta", move_on=True)


def test_the_note_form_asks_every_chained_decision_up_front(client, sales, agent, ticket):
    second, _again, give_up, _lost = chain_a_second_decision(sales)
    at_the_proposal(sales, agent, ticket)
    client.force_login(agent)
    html = client.get(url("ticket", ticket.pk)).content.decode()
    assert "Fechou negócio?" in html and "Nova proposta?" in html
    assert f'name="choice-{sales.decision.pk}"' in html and f'name="choice-{second.pk}"' in html
    assert "next question: “Nova proposta?”" in html  # where "Não" leads
    assert "Asked when “Não” is chosen for “Fechou negócio?”." in html
    assert "Perdido" in html and "closes the ticket" in html
    # one "Record" with both choices moves through both decisions
    response = client.post(
        url("ticket_note", ticket.pk),
        {
            "text": "Desistiu",
            "move_on": "1",
            f"choice-{sales.decision.pk}": str(sales.no.pk),
            f"choice-{second.pk}": str(give_up.pk),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response["HX-Refresh"] == "true"
    ticket.refresh_from_db()
    assert ticket.is_closed and ticket.cr.description == "Perdido"
    assert [d.label for d in PhaseMove.objects.filter(ticket=ticket).latest("id").decisions.order_by("id")] == [
        "Não",
        "Não",
    ]


def test_a_missing_choice_is_asked_not_shown_as_an_error(client, sales, agent, ticket):
    chain_a_second_decision(sales)
    at_the_proposal(sales, agent, ticket)
    client.force_login(agent)
    response = client.post(
        url("ticket_note", ticket.pk),
        {"text": "Não fechou", "move_on": "1", f"choice-{sales.decision.pk}": str(sales.no.pk)},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="note-prompt"' in html and "choose where the ticket goes: “Nova proposta?”" in html
    assert "alert-danger" not in html and 'data-testid="note-error"' not in html
    # what was chosen and typed stays
    assert f'value="{sales.no.pk}" checked' in html and "Não fechou" in html
    assert ticket.notes.count() == 2
    assert Ticket.objects.get(pk=ticket.pk).cr == sales.cr_proposal


def test_the_supervisor_steps_are_named_not_numbered(client, sales, supervisor, ticket):
    client.force_login(supervisor)
    html = client.get(url("ticket", ticket.pk)).content.decode()
    assert "Decision: Fechou negócio?" in html
    assert "9 · Encerrado (closes the ticket)" in html and "1 · Prospecção (current)" in html
    assert ">10 · " not in html and ">20 · " not in html


def test_the_supervisor_move_to_a_decision_offers_its_options(client, sales, supervisor, ticket):
    client.force_login(supervisor)
    response = client.get(url("ticket_move_decisions", ticket.pk), {"step": sales.decision.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Fechou negócio?" in html and f'name="choice-{sales.decision.pk}"' in html
    assert f'id="move-choice-{sales.yes.pk}"' in html and "Encerrado" in html and "Negociação" in html
    # a phase step asks nothing
    html = client.get(url("ticket_move_decisions", ticket.pk), {"step": sales.step_closed.pk}).content.decode()
    assert "choice-" not in html
    # without a choice: asked again, nothing moved
    response = client.post(url("ticket_move", ticket.pk), {"step": sales.decision.pk, "reason": "Cliente voltou"})
    html = response.content.decode()
    assert response.status_code == 422 and 'data-testid="move-prompt"' in html
    assert f'name="choice-{sales.decision.pk}"' in html and "Cliente voltou" in html
    assert Ticket.objects.get(pk=ticket.pk).cr == sales.cr_prospect
    # with it: moved through the decision
    response = client.post(
        url("ticket_move", ticket.pk),
        {"step": sales.decision.pk, "reason": "Cliente voltou", f"choice-{sales.decision.pk}": sales.no.pk},
    )
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).cr == sales.cr_negotiation


def test_only_a_supervisor_reads_the_move_decisions(client, sales, agent, ticket):
    client.force_login(agent)
    assert client.get(url("ticket_move_decisions", ticket.pk), {"step": sales.decision.pk}).status_code == 403
    assert client.post(url("ticket_move_decisions", ticket.pk)).status_code in (403, 405)


def test_a_step_of_another_workflow_or_a_huge_id_is_refused(client, sales, supervisor, ticket):
    client.force_login(supervisor)
    response = client.post(url("ticket_move", ticket.pk), {"step": "9" * 5000, "reason": "x"})
    assert response.status_code == 302
    html = client.get(url("ticket_move_decisions", ticket.pk), {"step": "9" * 5000}).content.decode()
    assert "choice-" not in html


# --- after Gravar, after a conflict ------------------------------------------------------------------


def test_saving_answers_reloads_the_required_list_and_the_blocked_move(client, sales, agent, ticket):
    client.force_login(agent)
    response = client.post(url("ticket_note", ticket.pk), {"text": "avançar", "move_on": "1"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'data-testid="note-blocked"' in html and 'data-testid="required-block"' in html
    assert 'hx-trigger="ciclo:answers-saved from:body"' in html
    assert url("ticket_note_required", ticket.pk) in html
    response = client.post(
        url("ticket_answers", ticket.pk), answer_fields(sales.q_single, str(sales.o_site.pk)), HTTP_HX_REQUEST="true"
    )
    assert response["HX-Trigger"] == "ciclo:answers-saved"
    html = client.get(url("ticket_note_required", ticket.pk), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="note-required"' in html
    assert 'data-testid="required-block"' not in html and 'data-testid="note-blocked"' not in html


def test_a_save_that_saves_nothing_triggers_nothing(client, sales, agent, ticket):
    client.force_login(agent)
    response = client.post(
        url("ticket_answers", ticket.pk), answer_fields(sales.q_time, "25:00"), HTTP_HX_REQUEST="true"
    )
    assert "HX-Trigger" not in response


def test_a_note_on_a_changed_ticket_shows_it_as_it_is_everywhere(client, sales, agent, supervisor, ticket):
    client.force_login(agent)
    read = ticket.version
    record_note(ticket, by=supervisor, text="Mudou", move_on=True, override_reason="urgente")  # now at the proposal
    response = client.post(
        url("ticket_note", ticket.pk), {"text": "Minha nota", "version": str(read)}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="note-stale"' in html
    ticket.refresh_from_db()
    assert f'name="version" value="{ticket.version}"' in html and "Minha nota" in html
    assert '<header id="ticket-header"' in html and 'hx-swap-oob="true"' in html and "Proposta enviada" in html
    assert '<div id="cycle-panel" hx-swap-oob="innerHTML">' in html and 'id="cycle"' in html
    assert '<section id="timeline"' in html and "Mudou" in html
    assert ticket.notes.filter(text="Minha nota").count() == 0
    # without htmx, the whole page as it is, with the real status
    response = client.post(url("ticket_note", ticket.pk), {"text": "Minha nota", "version": str(read)})
    assert response.status_code == 409 and "Minha nota" in response.content.decode()


def test_a_refused_note_keeps_the_version_it_was_read_at(client, sales, agent, supervisor, ticket):
    client.force_login(agent)
    read = ticket.version
    record_note(ticket, by=supervisor, text="Outra")
    response = client.post(url("ticket_note", ticket.pk), {"text": " ", "version": str(read)}, HTTP_HX_REQUEST="true")
    assert f'name="version" value="{read}"' in response.content.decode()


# --- who may record --------------------------------------------------------------------------------


def test_a_non_member_sees_the_note_form_disabled_with_the_reason(client, sales, agent, outsider, ticket):
    sales.cr_prospect.members.add(agent)
    client.force_login(outsider)
    html = client.get(url("ticket", ticket.pk)).content.decode()
    assert '<fieldset disabled aria-describedby="note-refusal" data-testid="note-fields">' in html
    assert "Only the members of “1 · Prospecção” and supervisors work tickets in this phase." in html
    client.force_login(agent)
    html = client.get(url("ticket", ticket.pk)).content.decode()
    assert (
        'data-testid="note-refusal"' not in html
        and "<fieldset disabled" not in html.split('id="note-form"')[1].split("</form>")[0]
    )


def test_the_timeline_names_who_unlocked_and_locked_again_and_when(client, sales, agent, supervisor, ticket):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from ciclo.tickets.answering import relock_phase, unlock_phase

    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=agent)
    record_note(ticket, by=agent, text="a", move_on=True)
    supervisor.first_name, supervisor.last_name = "Sara", "Souza"
    supervisor.save()
    at = dt.datetime(2026, 5, 14, 15, 30, tzinfo=ZoneInfo("America/Sao_Paulo"))
    unlock_phase(ticket, sales.cr_prospect, by=agent, reason="Cliente corrigiu", at=at)
    relock_phase(ticket, sales.cr_prospect, by=supervisor, at=at + dt.timedelta(hours=1))
    client.force_login(agent)
    html = client.get(url("ticket", ticket.pk)).content.decode()
    unlocked = html.split('data-testid="timeline-unlock"', 1)[1].split("</li>", 1)[0]
    relocked = html.split('data-testid="timeline-relock"', 1)[1].split("</li>", 1)[0]
    assert "14/05/2026 15:30 · agent_t" in unlocked and "Cliente corrigiu" in unlocked
    assert "14/05/2026 16:30 · Sara Souza" in relocked
    assert html.index('data-testid="timeline-relock"') < html.index('data-testid="timeline-unlock"')  # newest first
