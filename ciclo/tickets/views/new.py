"""Opening a ticket from the web: find the person as you type, pick an analytical type, go."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from ciclo.accounts.decorators import ciclo_user
from ciclo.configurator.models import ServiceType
from ciclo.people.models import Company, ContactPerson, Person
from ciclo.tickets.errors import DecisionRequired, InvalidInput, NotAllowed
from ciclo.tickets.models import Channel
from ciclo.tickets.opening import open_ticket

User = get_user_model()
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
        User.objects.filter(is_active=True, groups__isnull=False).distinct().order_by("username"),
        label=gettext_lazy("Next contact with"),
        required=False,
        help_text=gettext_lazy("Empty: you."),
    )
    text = forms.CharField(label=gettext_lazy("Opening note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        service_type = self.fields["service_type"]
        assert isinstance(service_type, forms.ModelChoiceField)
        service_type.queryset = (
            ServiceType.objects.filter(kind=ServiceType.Kind.ANALYTICAL, active=True, workflow__isnull=False)
            .exclude(active_from__gt=today)
            .order_by("code_key")
        )
        person_id = self.data.get("person") or self.initial.get("person")
        if person_id and str(person_id).isdigit():
            contact_person = self.fields["contact_person"]
            assert isinstance(contact_person, forms.ModelChoiceField)
            contact_person.queryset = ContactPerson.objects.filter(person_id=int(person_id))
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
    if request.GET.get("person", "").isdigit():
        initial["person"] = int(request.GET["person"])
    form = NewTicketForm(request.POST or None, initial=initial)
    person = None
    person_id = form.data.get("person") if request.method == "POST" else initial.get("person")
    if person_id and str(person_id).isdigit():
        person = Person.objects.filter(pk=int(person_id)).first()
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
    return render(request, "tickets/new.html", {"form": form, "person": person, "nav": "new"}, status=status)


@require_GET
@ciclo_user
def person_search(request: HttpRequest) -> HttpResponse:
    """As you type: people by name (3+ letters, accents ignored) or CPF/CNPJ digits."""
    term = request.GET.get("q", "").strip()
    people: list[Person] = []
    too_short = False
    if term:
        is_number = all(ch.isdigit() or ch in ".-/ " for ch in term)
        if (is_number and len([c for c in term if c.isdigit()]) >= 3) or (not is_number and len(term) >= 3):
            people = list(Person.objects.filter(active=True).search(term).order_by("search_name", "id")[:SEARCH_LIMIT])
        else:
            too_short = True
    return render(request, "tickets/_person_results.html", {"people": people, "term": term, "too_short": too_short})


@require_GET
@ciclo_user
def person_contacts(request: HttpRequest) -> HttpResponse:
    """The contact-person choices of the chosen person."""
    person_id = request.GET.get("person", "")
    contacts = ContactPerson.objects.filter(person_id=int(person_id)) if person_id.isdigit() else []
    return render(request, "tickets/_contact_options.html", {"contacts": contacts})


__all__ = ["new_ticket", "person_contacts", "person_search"]
