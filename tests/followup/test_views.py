"""The follow-up pages per role: the list, its exports, the call panel and recording a call."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from openpyxl import load_workbook

from ciclo.configurator.models import CrmOptions
from ciclo.tickets.answering import AnswerInput, save_answers
from ciclo.tickets.models import Answer, AnswerRevision, Note, Ticket
from tests.followup.conftest import NOW, at, make_contact

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true", "HX-Target": "followup-results"}


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def use_cycle(on: bool) -> None:
    options = CrmOptions.current()
    options.use_cycle_in_followup = on
    options.save()


# ---- the list ----------------------------------------------------------------------------------------------------


def test_an_agent_sees_their_list_with_its_groups_and_pipeline(world, agent, outsider):
    mine = make_contact(world, agent, success=50, value="2000.00", subject="Quer o ERP")
    make_contact(world, outsider, subject="De outro")
    response = client_for(agent).get("/followup/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-ticket="{mine.pk}"' in page and "Quer o ERP" in page and "De outro" not in page
    assert 'data-testid="group-today"' in page and 'data-testid="group-overdue"' not in page
    assert "R$ 1,000.00" in page  # the weighted pipeline, in English
    assert 'href="/followup/"' in page  # the menu's item


def test_the_list_needs_a_login_and_a_role(world, agent):
    assert Client().get("/followup/").status_code == 302
    nobody = User.objects.create_user("nobody", password="x")
    assert client_for(nobody).get("/followup/").status_code == 403


def test_the_list_takes_no_post(agent):
    assert client_for(agent).post("/followup/").status_code == 405


def test_a_bad_filter_is_named_and_shows_no_rows(world, agent):
    make_contact(world, agent)
    response = client_for(agent).get("/followup/", {"success_min": "150", "text": "ab"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "from 0 to 100" in page and "at least 3 characters" in page
    assert "data-ticket=" not in page


def test_a_bad_cursor_is_refused_not_a_500(world, agent):
    make_contact(world, agent)
    response = client_for(agent).get("/followup/", {"today_after": "garbage"})
    assert response.status_code == 422
    assert "cursor is not valid" in response.content.decode()


def test_htmx_gets_only_the_results_and_the_address_follows(world, agent):
    make_contact(world, agent, channel="email")
    response = client_for(agent).get("/followup/", {"channel": "email"}, headers=HTMX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="followup-results"')
    assert response["HX-Push-Url"] == "/followup/?channel=email"


def test_a_supervisor_filters_by_user_and_sees_the_team(world, agent, outsider, supervisor):
    a = make_contact(world, agent, subject="Do agente")
    b = make_contact(world, outsider, subject="Do outro")
    client = client_for(supervisor)
    team = client.get("/followup/", {"user": "team"}).content.decode()
    assert f'data-ticket="{a.pk}"' in team and f'data-ticket="{b.pk}"' in team
    one = client.get("/followup/", {"user": outsider.pk}).content.decode()
    assert f'data-ticket="{b.pk}"' in one and f'data-ticket="{a.pk}"' not in one
    # An agent's "team" is their own list.
    own = client_for(agent).get("/followup/", {"user": "team"}).content.decode()
    assert f'data-ticket="{a.pk}"' in own and f'data-ticket="{b.pk}"' not in own


def test_a_group_pages_by_its_next_link(world, agent):
    from ciclo.sales import followup

    for i in range(followup.PAGE_SIZE + 2):
        make_contact(world, agent, next_contact_at=at(25, 11 + i % 10))
    client = client_for(agent)
    first = client.get("/followup/").content.decode()
    assert first.count('<tr data-ticket="') == followup.PAGE_SIZE
    import html
    import re

    link = html.unescape(re.search(r'href="([^"]*)"[^>]*data-testid="today-next"', first).group(1))
    second = client.get("/followup/" + link).content.decode()
    assert second.count('<tr data-ticket="') == 2


# ---- exports -----------------------------------------------------------------------------------------------------


def test_the_csv_export_has_every_matching_contact_with_the_list_s_filters(world, agent):
    make_contact(world, agent, success=30, value="1500.50", channel="email", subject="=HYPERLINK(1)")
    make_contact(world, agent, channel="phone")
    response = client_for(agent).get("/followup/export.csv", {"channel": "email"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["Group", "Number", "Next contact"]
    assert len(rows) == 2
    assert rows[1][0] == "Today" and rows[1][5] == "'=HYPERLINK(1)"
    assert rows[1][9] == "30" and rows[1][10] == "1500,50" and rows[1][11] == "450,15"


def test_the_xlsx_export(world, agent):
    make_contact(world, agent, success=30, value="1500.50")
    response = client_for(agent).get("/followup/export.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Group" and len(values) == 2
    assert float(values[1][10]) == 1500.50


def test_an_export_with_a_bad_filter_shows_the_page_with_the_error(world, agent):
    response = client_for(agent).get("/followup/export.csv", {"success_max": "x"})
    assert response.status_code == 422


# ---- the call panel ----------------------------------------------------------------------------------------------


def test_the_call_panel_shows_the_note_form_and_the_phase_s_questions(world, agent):
    ticket = make_contact(world, agent)
    response = client_for(agent).get(f"/followup/{ticket.pk}/call/", {"slot": "row"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="call-form"' in page
    assert f'name="q-{world.q_single.pk}"' in page  # Prospecção's questions
    assert f'name="q-{world.q_proposal.pk}"' not in page  # not the next phase's


def test_with_the_option_off_the_panel_hides_the_cycle(world, agent):
    use_cycle(False)
    ticket = make_contact(world, agent)
    page = client_for(agent).get(f"/followup/{ticket.pk}/call/", headers={"HX-Request": "true"}).content.decode()
    assert 'data-testid="call-form"' in page and 'name="q-' not in page


def test_the_call_panel_of_a_ticket_the_user_cannot_see_is_a_404(world, agent, outsider):
    from ciclo.accounts.models import UserCompany

    ticket = make_contact(world, agent)
    options = CrmOptions.current()
    options.access_control_user_company = True
    options.save()
    UserCompany.objects.create(user=agent, company=world.company)
    assert client_for(outsider).get(f"/followup/{ticket.pk}/call/").status_code == 404
    assert client_for(outsider).post(f"/followup/{ticket.pk}/call/record/", {"text": "x"}).status_code == 404


def test_without_htmx_the_panel_is_a_page_of_its_own(world, agent):
    ticket = make_contact(world, agent)
    response = client_for(agent).get(f"/followup/{ticket.pk}/call/")
    assert response.status_code == 200 and "<html" in response.content.decode()


# ---- recording a call --------------------------------------------------------------------------------------------


def post_call(client, ticket, **data):
    data.setdefault("version", str(Ticket.objects.get(pk=ticket.pk).version))
    return client.post(f"/followup/{ticket.pk}/call/record/", data, headers={"HX-Request": "true"})


def test_a_call_saves_the_answers_and_the_note_and_moves_on(world, agent):
    ticket = make_contact(world, agent)
    s = world
    response = post_call(
        client_for(agent),
        ticket,
        text="Ligou, quer proposta",
        channel="phone",
        next_contact_at="2026-11-27T14:00",
        next_contact_user=str(agent.pk),
        move_on="1",
        **{
            f"shown-{s.q_single.pk}": "1",
            f"v-{s.q_single.pk}": "0",
            f"q-{s.q_single.pk}": str(s.o_site.pk),
            f"shown-{s.q_text.pk}": "1",
            f"v-{s.q_text.pk}": "0",
            f"q-{s.q_text.pk}": "Carlos",
        },
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#followup-results"
    assert "moved to" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.cr == s.cr_proposal
    note = Note.objects.filter(ticket=ticket, kind=Note.Kind.CONTACT).get()
    assert (note.text, note.author, note.channel) == ("Ligou, quer proposta", agent, "phone")
    assert note.move.to_cr == s.cr_proposal  # the history of the move
    # The answers' history: who, when, what.
    revisions = AnswerRevision.objects.filter(ticket=ticket)
    assert {r.question_id for r in revisions} == {s.q_single.pk, s.q_text.pk}
    assert all(r.by == agent and r.old_value is None for r in revisions)


def test_a_required_question_left_blank_blocks_moving_on_and_nothing_is_written(world, agent):
    ticket = make_contact(world, agent)
    s = world
    response = post_call(
        client_for(agent),
        ticket,
        text="Ligou",
        move_on="1",
        **{f"shown-{s.q_text.pk}": "1", f"v-{s.q_text.pk}": "0", f"q-{s.q_text.pk}": "Carlos"},
    )
    assert response.status_code == 200  # htmx swaps the panel with its message
    assert "Answer the required questions" in response.content.decode()
    assert not Note.objects.filter(ticket=ticket, kind=Note.Kind.CONTACT).exists()
    assert not Answer.objects.filter(ticket=ticket).exists()  # the call's answers went with the note


def test_a_bad_answer_is_named_beside_its_question(world, agent):
    ticket = make_contact(world, agent)
    s = world
    response = post_call(
        client_for(agent),
        ticket,
        text="Ligou",
        **{f"shown-{s.q_number.pk}": "1", f"v-{s.q_number.pk}": "0", f"q-{s.q_number.pk}": "muitos"},
    )
    page = response.content.decode()
    assert f'data-testid="call-error-q-{s.q_number.code}"' in page
    assert not Note.objects.filter(ticket=ticket, kind=Note.Kind.CONTACT).exists()


def test_an_empty_note_is_refused_on_its_field(world, agent):
    ticket = make_contact(world, agent)
    page = post_call(client_for(agent), ticket, text="  ").content.decode()
    assert 'data-testid="call-error-text"' in page
    assert Note.objects.filter(ticket=ticket).count() == 1  # the opening note alone


def test_a_bad_next_contact_is_refused_on_its_field(world, agent):
    ticket = make_contact(world, agent)
    page = post_call(client_for(agent), ticket, text="Ligou", next_contact_at="amanhã").content.decode()
    assert "Give the next contact as a date and time." in page


def test_a_call_on_a_ticket_changed_meanwhile_is_refused_and_kept(world, agent):
    ticket = make_contact(world, agent)
    page = post_call(client_for(agent), ticket, text="Minha nota", version="0").content.decode()
    assert 'data-testid="call-stale"' in page and "Minha nota" in page
    assert Note.objects.filter(ticket=ticket).count() == 1


def test_an_agent_outside_a_cr_with_members_may_not_record(world, agent, outsider):
    ticket = make_contact(world, agent)
    world.cr_prospect.members.add(agent)
    page = post_call(client_for(outsider), ticket, text="Tentei").content.decode()
    assert 'data-testid="call-error"' in page and "Only the members" in page
    assert Note.objects.filter(ticket=ticket).count() == 1


def test_recording_takes_only_post(world, agent):
    ticket = make_contact(world, agent)
    assert client_for(agent).get(f"/followup/{ticket.pk}/call/record/").status_code == 405


def test_with_the_option_off_answers_posted_are_not_saved_and_those_given_are_kept(world, agent):
    ticket = make_contact(world, agent)
    s = world
    save_answers(ticket, [AnswerInput(s.q_text.pk, "Antes")], by=agent)
    use_cycle(False)
    response = post_call(
        client_for(agent),
        ticket,
        text="Sem ciclo",
        **{f"shown-{s.q_text.pk}": "1", f"v-{s.q_text.pk}": "1", f"q-{s.q_text.pk}": "Depois"},
    )
    assert response["HX-Retarget"] == "#followup-results"
    assert Answer.objects.get(ticket=ticket, question=s.q_text).value_text == "Antes"
    assert Note.objects.filter(ticket=ticket, text="Sem ciclo").exists()


def test_without_htmx_a_recorded_call_returns_to_the_list(world, agent):
    ticket = make_contact(world, agent)
    response = client_for(agent).post(
        f"/followup/{ticket.pk}/call/record/", {"text": "Ligou", "version": "1", "list": "channel=phone"}
    )
    assert response.status_code == 302 and response["Location"] == "/followup/?channel=phone"
    bad = client_for(agent).post(f"/followup/{ticket.pk}/call/record/", {"text": ""})
    assert bad.status_code == 422


# ---- the outcome of a call that closes the contact ---------------------------------------------------------------


def in_proposal(world, agent):
    """A contact moved on to the proposal phase, whose next move may close it (the decision "Fechou negócio?")."""
    from ciclo.tickets.routing import record_note

    ticket = make_contact(world, agent)
    save_answers(ticket, [AnswerInput(world.q_single.pk, [{"option": world.o_site.pk}])], by=agent)
    record_note(ticket, by=agent, text="Proposta enviada", move_on=True)
    return Ticket.objects.get(pk=ticket.pk)


def test_the_panel_asks_for_the_outcome_when_the_call_may_close_the_contact(world, agent):
    ticket = in_proposal(world, agent)
    page = client_for(agent).get(f"/followup/{ticket.pk}/call/", headers={"HX-Request": "true"}).content.decode()
    assert 'data-testid="call-outcome"' in page
    first = make_contact(world, agent)
    page = client_for(agent).get(f"/followup/{first.pk}/call/", headers={"HX-Request": "true"}).content.decode()
    assert 'data-testid="call-outcome"' not in page


def test_a_call_that_closes_the_contact_records_it_won(world, agent):
    from ciclo.sales.models import Outcome, SalesContact

    ticket = in_proposal(world, agent)
    response = post_call(
        client_for(agent),
        ticket,
        text="Fechou!",
        move_on="1",
        **{f"choice-{world.decision.pk}": str(world.yes.pk), "outcome": "won", "won_value": "15.000,00"},
    )
    assert response["HX-Retarget"] == "#followup-results", response.content.decode()[:3000]
    ticket.refresh_from_db()
    assert ticket.is_closed
    contact = SalesContact.objects.get(ticket=ticket)
    assert contact.outcome == Outcome.WON and str(contact.won_value) == "15000.00" and contact.outcome_by == agent


def test_closing_without_an_outcome_or_with_a_bad_one_is_refused_on_its_field(world, agent):
    from ciclo.sales.models import LostReason

    ticket = in_proposal(world, agent)
    choice = {f"choice-{world.decision.pk}": str(world.yes.pk)}
    page = post_call(client_for(agent), ticket, text="Fechou", move_on="1", **choice).content.decode()
    assert 'data-testid="call-error-outcome"' in page
    page = post_call(
        client_for(agent), ticket, text="Fechou", move_on="1", outcome="won", won_value="muito", **choice
    ).content.decode()
    assert 'data-testid="call-error-won_value"' in page
    page = post_call(client_for(agent), ticket, text="Perdeu", move_on="1", outcome="lost", **choice).content.decode()
    assert 'data-testid="call-error-lost_reason"' in page
    assert not Ticket.objects.get(pk=ticket.pk).is_closed
    reason = LostReason.objects.create(name="Preço")
    post_call(
        client_for(agent), ticket, text="Perdeu", move_on="1", outcome="lost", lost_reason=str(reason.pk), **choice
    )
    assert Ticket.objects.get(pk=ticket.pk).sales.lost_reason == reason
