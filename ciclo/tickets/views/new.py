"""Opening a ticket from the web: find the person as you type (or add them there), pick an analytical type, go."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ciclo.accounts.decorators import ciclo_user
from ciclo.configurator.models import ServiceType
from ciclo.http import get_id, parse_id
from ciclo.people.changes import create_person
from ciclo.people.models import Company, ContactPerson, Person, Phone
from ciclo.people.text import SearchTooShort
from ciclo.tickets.access import assignable_users
from ciclo.tickets.errors import DecisionRequired, InvalidInput, NotAllowed
from ciclo.tickets.models import Channel
from ciclo.tickets.opening import open_ticket

SEARCH_LIMIT = 15


class NewTicketForm(forms.Form):
    person = forms.ModelChoiceField(
        Person.objects.filter(active=True), label=gettext_lazy("Person"), widget=forms.HiddenInput
    )
    service_type = forms.ModelChoiceField(ServiceType.objects.none(), label=gettext_lazy("Service type"))
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    contact_person = forms.ModelChoiceField(
        ContactPerson.objects.none(), label=gettext_lazy("Contact person"), required=False
    )
    company = forms.ModelChoiceField(Company.objects.filter(active=True), label=gettext_lazy("Company"))
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"), choices=[c for c in Channel.choices if c[0] != Channel.SYSTEM]
    )
    next_contact_at = forms.DateTimeField(
        label=gettext_lazy("Next contact"),
        required=False,
        help_text=gettext_lazy("Empty: the type's default days from now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M"],
    )
    next_contact_user = forms.ModelChoiceField(
        assignable_users(),
        label=gettext_lazy("Next contact with"),
        required=False,
        help_text=gettext_lazy("Empty: you."),
    )
    text = forms.CharField(label=gettext_lazy("Opening note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        service_type = self.fields["service_type"]
        assert isinstance(service_type, forms.ModelChoiceField)
        service_type.queryset = ServiceType.objects.openable().order_by("code_key")
        person_id = parse_id(str(self.data.get("person") or self.initial.get("person") or ""))
        if person_id is not None:
            contact_person = self.fields["contact_person"]
            assert isinstance(contact_person, forms.ModelChoiceField)
            contact_person.queryset = ContactPerson.objects.filter(person_id=person_id)
        for field in self.fields.values():
            if not isinstance(field.widget, forms.HiddenInput):
                css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
                field.widget.attrs.setdefault("class", css)


@require_http_methods(["GET", "POST"])
@ciclo_user
def new_ticket(request: HttpRequest) -> HttpResponse:
    initial: dict[str, Any] = {"channel": Channel.PHONE}
    companies = Company.objects.filter(active=True)
    if companies.count() == 1:
        initial["company"] = companies.first()
    if (chosen := get_id(request.GET, "person")) is not None:
        initial["person"] = chosen
    form = NewTicketForm(request.POST or None, initial=initial)
    person = None
    person_id = get_id(form.data, "person") if request.method == "POST" else initial.get("person")
    if person_id is not None:
        person = Person.objects.filter(pk=person_id).first()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = open_ticket(
                person=data["person"],
                service_type=data["service_type"],
                subject=data["subject"],
                company=data["company"],
                by=request.user,
                channel=data["channel"],
                contact_person=data["contact_person"],
                next_contact_at=data["next_contact_at"],
                next_contact_user=data["next_contact_user"],
                text=data["text"],
            )
        except InvalidInput as err:
            for name, msgs in err.errors.items():
                for msg in msgs:
                    form.add_error(name if name in form.fields else None, msg)
        except (NotAllowed, DecisionRequired) as err:
            form.add_error(None, err.message)
        else:
            messages.success(request, _("Ticket #%(pk)s opened in %(cr)s.") % {"pk": ticket.pk, "cr": ticket.cr})
            return redirect(reverse("ticket", args=[ticket.pk]) + "#cycle")
    for name in form.errors:
        if name in form.fields:
            widget = form.fields[name].widget
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
            widget.attrs["aria-invalid"] = "true"
    status = 422 if request.method == "POST" else 200
    context = {"form": form, "person": person, "person_form": NewPersonForm(), "nav": "new"}
    return render(request, "tickets/new.html", context, status=status)


@require_GET
@ciclo_user
def person_search(request: HttpRequest) -> HttpResponse:
    """As you type: every word anywhere in the name (accents ignored), or the CPF/CNPJ with or without its mask."""
    term = request.GET.get("q", "").strip()[:200]
    people: list[Person] = []
    too_short = ""
    if term:
        try:
            found = Person.objects.filter(active=True).search(term)
            people = list(found.order_by("search_name", "id")[:SEARCH_LIMIT])
        except SearchTooShort as err:
            too_short = err.message
    return render(request, "tickets/_person_results.html", {"people": people, "term": term, "too_short": too_short})


class NewPersonForm(forms.Form):
    """The person added from the new-ticket page; the rules are create_person's."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[("", gettext_lazy("From the CPF/CNPJ")), *Person.Kind.choices],
        required=False,
    )
    document = forms.CharField(
        label=gettext_lazy("CPF/CNPJ"),
        max_length=20,
        required=False,
        help_text=gettext_lazy("With or without the mask."),
    )
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=30, required=False)
    email = forms.CharField(label=gettext_lazy("E-mail"), max_length=254, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "new_person")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault(
                "class", "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            )


@require_POST
@ciclo_user
def person_create(request: HttpRequest) -> HttpResponse:
    """htmx: add a person beside the search; on success the new-ticket form takes them as its person."""
    if not request.user.has_perm("people.add_person"):
        raise PermissionDenied
    form = NewPersonForm(request.POST)
    person = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            person = create_person(
                by=request.user,
                name=data["name"],
                kind=data["kind"] or None,
                document=data["document"],
                phone=data["phone"],
                phone_kind=Phone.Kind.MOBILE,
                email=data["email"],
            )
        except ValidationError as err:
            for name, msgs in err.message_dict.items():
                for msg in msgs:
                    form.add_error(name if name in form.fields else None, msg)
    if person is None:
        for name in form.errors:
            if name in form.fields:
                widget = form.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                widget.attrs["aria-invalid"] = "true"
    # 200 either way: htmx swaps the fragment in, with the errors beside the fields when there are any.
    context = {"person_form": form if person is None else NewPersonForm(), "created": person}
    return render(request, "tickets/_new_person.html", context)


@require_GET
@ciclo_user
def person_contacts(request: HttpRequest) -> HttpResponse:
    """The contact-person choices of the chosen person."""
    person_id = get_id(request.GET, "person")
    contacts = ContactPerson.objects.filter(person_id=person_id) if person_id is not None else []
    return render(request, "tickets/_contact_options.html", {"contacts": contacts})


__all__ = ["new_ticket", "person_contacts", "person_create", "person_search"]
