"""The cycle on the ticket page: numbers read by the engine's parser, suggestions, conflicts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ciclo.accounts.roles import ensure_role_groups
from ciclo.accounts.tokens import create_token
from ciclo.tickets.answering import AnswerInput, save_answers
from ciclo.tickets.models import Answer, AnswerRevision
from ciclo.tickets.routing import unanswered_required
from tests.api.helpers import Api
from tests.factory import make_ticket
from tests.web.cycle_helpers import cycle_fields, page_fields, post_cycle

PT = {"HTTP_ACCEPT_LANGUAGE": "pt-br"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def ticket(sales, agent):
    return make_ticket(sales, agent)


def number_of(ticket, question):
    return Answer.objects.get(ticket=ticket, question=question).value_number


# --- numbers and money -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1234.56", "1234.56"), ("1.234,56", "1234.56"), ("1234,56", "1234.56"), ("R$ 1.234,56", "1234.56")],
)
def test_money_typed_in_pt_br_is_saved_as_typed(client, sales, agent, ticket, text, expected):
    client.force_login(agent)
    fields = cycle_fields(client, ticket.pk, **PT)
    fields[f"q-{sales.q_money.pk}"] = [text]
    response = post_cycle(client, ticket.pk, fields, **PT)
    assert response.status_code == 200
    assert number_of(ticket, sales.q_money) == Decimal(expected)
    # shown back as a Brazilian reads it, in the R$ input group
    html = response.content.decode()
    assert 'value="1.234,56"' in html and ">R$</span>" in html


@pytest.mark.parametrize(("text", "expected"), [("1.5", "1.5"), ("12.5", "12.5"), ("12,5", "12.5"), ("7", "7")])
def test_numbers_with_a_decimal_point_are_not_multiplied(client, sales, agent, ticket, text, expected):
    client.force_login(agent)
    fields = cycle_fields(client, ticket.pk, **PT)
    fields[f"q-{sales.q_number.pk}"] = [text]
    assert post_cycle(client, ticket.pk, fields, **PT).status_code == 200
    assert number_of(ticket, sales.q_number) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1e5", "without an exponent"),
        ("NaN", "real number"),
        ("12a", "1234.56 or 1,234.56"),
        ("R$ 1,2,3", "thousands separators"),
        ("1.234", "type 1234 for the whole number"),
        ("10,555", "at most two decimals"),
    ],
)
def test_money_that_could_be_misread_is_refused_showing_what_to_type(client, sales, agent, ticket, text, fragment):
    client.force_login(agent)
    fields = cycle_fields(client, ticket.pk, **EN)
    fields[f"q-{sales.q_money.pk}"] = [text]
    fields[f"q-{sales.q_text.pk}"] = ["também mudou"]
    response = post_cycle(client, ticket.pk, fields, **EN)
    html = response.content.decode()
    assert f'data-testid="error-{sales.q_money.pk}"' in html
    assert fragment in html.replace("&quot;", '"')
    assert not Answer.objects.exists()  # all or nothing


def test_the_limits_of_a_number_still_apply(client, sales, agent, ticket):
    sales.q_number.max_value = Decimal("1000")
    sales.q_number.save()
    client.force_login(agent)
    fields = cycle_fields(client, ticket.pk, **EN)
    fields[f"q-{sales.q_number.pk}"] = ["1.000,5"]
    html = post_cycle(client, ticket.pk, fields, **EN).content.decode()
    assert "The largest value allowed is 1000." in html
    fields[f"q-{sales.q_number.pk}"] = ["-1"]
    assert "The smallest value allowed is 0." in post_cycle(client, ticket.pk, fields, **EN).content.decode()
    assert not Answer.objects.exists()


def test_a_saved_amount_is_not_saved_again_when_left_as_shown(client, sales, agent, ticket):
    client.force_login(agent)
    fields = cycle_fields(client, ticket.pk, **PT)
    fields[f"q-{sales.q_money.pk}"] = ["1234.5"]
    post_cycle(client, ticket.pk, fields, **PT)
    fields = cycle_fields(client, ticket.pk, **PT)
    assert fields[f"q-{sales.q_money.pk}"] == ["1.234,50"]
    fields[f"q-{sales.q_text.pk}"] = ["Ana"]
    post_cycle(client, ticket.pk, fields, **PT)
    assert Answer.objects.get(question=sales.q_money).version == 1


@pytest.mark.parametrize(
    "text", ["1.234,56", "1234,56", "1234.56", "1,234.56", "1.5", "12.5", "R$ 1.234.567,8", "-3,25", "0,5"]
)
def test_the_web_in_either_language_and_the_api_read_a_text_alike(client, sales, agent, text):
    ensure_role_groups()
    api = Api(create_token(agent, name="tests")[1])
    client.force_login(agent)
    stored = []
    for headers in (PT, EN):
        ticket = make_ticket(sales, agent)
        fields = cycle_fields(client, ticket.pk, **headers)
        fields[f"q-{sales.q_money.pk}"] = [text]
        fields[f"q-{sales.q_number.pk}"] = [text.lstrip("-")]
        assert post_cycle(client, ticket.pk, fields, **headers).status_code == 200
        stored.append((number_of(ticket, sales.q_money), number_of(ticket, sales.q_number)))
    ticket = make_ticket(sales, agent)
    body = [{"question": "1.04", "value": text}, {"question": "1.03", "value": text.lstrip("-")}]
    response = api.post(f"/tickets/{ticket.pk}/answers", body)
    assert response.status_code == 200, response.body
    stored.append((number_of(ticket, sales.q_money), number_of(ticket, sales.q_number)))
    assert stored[0] == stored[1] == stored[2]


@pytest.mark.parametrize("text", ["1e5", "1.234", "12.34.56", "NaN"])
def test_the_web_and_the_api_refuse_the_same_texts(client, sales, agent, ticket, text):
    ensure_role_groups()
    api = Api(create_token(agent, name="tests")[1])
    response = api.post(f"/tickets/{ticket.pk}/answers", [{"question": "1.04", "value": text}])
    assert response.status_code == 422
    [messages] = response.body["error"]["fields"].values()  # keyed by the question, as the request named it
    assert "type" in messages[0]
    client.force_login(agent)
    fields = cycle_fields(client, ticket.pk)
    fields[f"q-{sales.q_money.pk}"] = [text]
    assert post_cycle(client, ticket.pk, fields).status_code == 200  # htmx: the fragment carries the error
    assert not Answer.objects.exists()


def test_the_api_takes_json_numbers(sales, agent, ticket):
    ensure_role_groups()
    api = Api(create_token(agent, name="tests")[1])
    body = [{"question": "1.04", "value": 1234.56}, {"question": "1.03", "value": 12}]
    assert api.post(f"/tickets/{ticket.pk}/answers", body).status_code == 200
    assert number_of(ticket, sales.q_money) == Decimal("1234.56")
    assert number_of(ticket, sales.q_number) == 12


# --- default options are suggestions --------------------------------------------------------------


@pytest.fixture
def suggested(sales):
    """The required single choice "Origem" suggests "Site"."""
    sales.o_site.checked_by_default = True
    sales.o_site.save()
    return sales


def test_a_suggestion_is_shown_selected_and_marked(client, suggested, agent, ticket):
    s = suggested
    client.force_login(agent)
    html = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f'data-testid="suggested-{s.o_site.pk}"' in html
    assert f'data-testid="suggested-{s.o_erp.pk}"' in html
    assert f'name="confirm-{s.q_single.pk}"' in html
    fields = page_fields(html)
    assert fields[f"q-{s.q_single.pk}"] == [str(s.o_site.pk)]  # pre-selected
    assert f"confirm-{s.q_single.pk}" not in fields  # not confirmed until the user says so


def test_saving_another_question_does_not_save_the_suggestions(client, suggested, agent, ticket):
    s = suggested
    client.force_login(agent)
    fields = cycle_fields(client, ticket.pk)
    fields[f"q-{s.q_text.pk}"] = ["Carlos"]
    response = post_cycle(client, ticket.pk, fields)
    assert "Saved: 1.01 Contato." in response.content.decode()
    assert list(Answer.objects.values_list("question_id", flat=True)) == [s.q_text.pk]
    # the required question is still unanswered: the suggestion satisfies nothing
    assert [q.pk for q in unanswered_required(ticket)] == [s.q_single.pk]
    # and it is still offered as a suggestion
    assert f'data-testid="suggested-{s.o_site.pk}"' in response.content.decode()


def test_saving_with_nothing_changed_saves_no_suggestion(client, suggested, agent, ticket):
    client.force_login(agent)
    response = post_cycle(client, ticket.pk, cycle_fields(client, ticket.pk))
    assert "Nothing changed" in response.content.decode()
    assert not Answer.objects.exists()


def test_a_confirmed_suggestion_is_saved_and_named(client, suggested, agent, ticket):
    s = suggested
    client.force_login(agent)
    fields = cycle_fields(client, ticket.pk)
    fields[f"confirm-{s.q_single.pk}"] = ["1"]
    response = post_cycle(client, ticket.pk, fields)
    assert "Saved: 1.07 Origem." in response.content.decode()
    assert Answer.objects.get().display() == "Site"
    assert unanswered_required(ticket) == []
    assert f'data-testid="suggested-{s.o_site.pk}"' not in response.content.decode()


def test_choosing_another_option_saves_that_choice(client, suggested, agent, ticket):
    s = suggested
    client.force_login(agent)
    fields = cycle_fields(client, ticket.pk)
    fields[f"q-{s.q_single.pk}"] = [str(s.o_referral.pk)]
    fields[f"q-{s.q_multi.pk}"] = [str(s.o_erp.pk), str(s.o_crm.pk)]
    response = post_cycle(client, ticket.pk, fields)
    assert "Saved: 1.07 Origem; 1.08 Interesses." in response.content.decode()
    assert {a.question_id: a.display() for a in Answer.objects.all()} == {
        s.q_single.pk: "Indicação",
        s.q_multi.pk: "ERP; CRM",
    }


def test_opening_a_ticket_stores_no_default(suggested, agent):
    ticket = make_ticket(suggested, agent)
    assert not Answer.objects.filter(ticket=ticket).exists()
    assert suggested.q_single in unanswered_required(ticket)


# --- conflicts ------------------------------------------------------------------------------------


@pytest.fixture
def rival(django_user_model, supervisor):
    supervisor.first_name, supervisor.last_name = "Regina", "Souza"
    supervisor.save()
    return supervisor


def test_a_conflict_shows_their_value_as_the_user_reads_it_and_their_name(client, sales, agent, rival, ticket):
    s = sales
    client.force_login(agent)
    fields = cycle_fields(client, ticket.pk, **PT)  # read before the supervisor saves
    save_answers(
        ticket,
        [
            AnswerInput(s.q_money.pk, "1000"),
            AnswerInput(s.q_date.pk, "2026-12-24"),
            AnswerInput(s.q_multi.pk, [s.o_crm.pk]),
            AnswerInput(s.q_time.pk, "09:05"),
        ],
        by=rival,
    )
    fields[f"q-{s.q_money.pk}"] = ["2.000,00"]
    fields[f"q-{s.q_date.pk}"] = ["2026-12-25"]
    fields[f"q-{s.q_multi.pk}"] = [str(s.o_other.pk)]
    fields[f"q-{s.q_time.pk}"] = ["10:00"]
    response = post_cycle(client, ticket.pk, fields, **PT)
    html = response.content.decode()
    for question, shown in [
        (s.q_money, "R$ 1.000,00"),
        (s.q_date, "24/12/2026"),
        (s.q_multi, "CRM"),
        (s.q_time, "09:05"),
    ]:
        start = html.index(f'data-testid="conflict-{question.pk}"')
        block = html[start : html.index("</div>", start)]
        assert shown in block and "Regina Souza" in block, block
    assert Answer.objects.get(question=s.q_money).value_number == Decimal("1000")


def test_a_conflict_falls_back_to_the_username_without_a_full_name(client, sales, agent, supervisor, ticket):
    client.force_login(agent)
    fields = cycle_fields(client, ticket.pk)
    save_answers(ticket, [AnswerInput(sales.q_text.pk, "do supervisor")], by=supervisor)
    fields[f"q-{sales.q_text.pk}"] = ["do agente"]
    html = post_cycle(client, ticket.pk, fields).content.decode()
    assert "supervisor_t saved “do supervisor” meanwhile" in html


def conflicted(client, sales, agent, rival, ticket):
    """The agent's save of two answers conflicts with the supervisor's; returns the fields then shown."""
    client.force_login(agent)
    fields = cycle_fields(client, ticket.pk)
    save_answers(ticket, [AnswerInput(sales.q_text.pk, "dela"), AnswerInput(sales.q_memo.pk, "dela também")], by=rival)
    fields[f"q-{sales.q_text.pk}"] = ["minha"]
    fields[f"q-{sales.q_memo.pk}"] = ["minha também"]
    response = post_cycle(client, ticket.pk, fields)
    assert f'data-testid="conflict-{sales.q_text.pk}"' in response.content.decode()
    return page_fields(response.content.decode())


def test_each_conflict_needs_a_choice_before_anything_is_saved(client, sales, agent, rival, ticket):
    fields = conflicted(client, sales, agent, rival, ticket)
    assert f"resolve-{sales.q_text.pk}" not in fields  # no side is chosen for the user
    fields[f"resolve-{sales.q_text.pk}"] = ["mine"]
    response = post_cycle(client, ticket.pk, fields)
    html = response.content.decode()
    assert "choose “Keep theirs” or “Use mine”: 1.02 Necessidade." in html
    assert f'data-testid="conflict-{sales.q_memo.pk}"' in html  # still shown, with their answer
    assert "dela também" in html
    assert Answer.objects.get(question=sales.q_text).value_text == "dela"
    assert AnswerRevision.objects.count() == 2  # the supervisor's only


def test_each_conflict_is_settled_as_the_user_chose(client, sales, agent, rival, ticket):
    fields = conflicted(client, sales, agent, rival, ticket)
    fields[f"resolve-{sales.q_text.pk}"] = ["mine"]
    fields[f"resolve-{sales.q_memo.pk}"] = ["theirs"]
    response = post_cycle(client, ticket.pk, fields)
    assert "Saved: 1.01 Contato." in response.content.decode()
    assert Answer.objects.get(question=sales.q_text).value_text == "minha"
    assert Answer.objects.get(question=sales.q_memo).value_text == "dela também"
    # the form now shows their answer where the user kept it
    assert page_fields(response.content.decode())[f"q-{sales.q_memo.pk}"] == ["dela também"]


def test_keeping_theirs_everywhere_saves_nothing(client, sales, agent, rival, ticket):
    fields = conflicted(client, sales, agent, rival, ticket)
    fields[f"resolve-{sales.q_text.pk}"] = ["theirs"]
    fields[f"resolve-{sales.q_memo.pk}"] = ["theirs"]
    response = post_cycle(client, ticket.pk, fields)
    assert "Nothing changed" in response.content.decode()
    assert page_fields(response.content.decode())[f"q-{sales.q_text.pk}"] == ["dela"]
    assert Answer.objects.get(question=sales.q_text).version == 1
