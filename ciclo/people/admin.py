"""People (customers and prospects) and the user's own companies."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ciclo.history.admin import HistoryMixin, ProtectedInlineFormSet
from ciclo.people.changes import add_person
from ciclo.people.documents import format_document, normalize_document
from ciclo.people.models import Company, ContactPerson, Email, Person, Phone
from ciclo.people.text import SearchTooShort


class PersonForm(forms.ModelForm):
    # Longer than the 14 stored digits, so a formatted CPF/CNPJ can be typed or pasted.
    document = forms.CharField(
        label=_("CPF/CNPJ"),
        max_length=20,
        required=False,
        help_text=_("Digits only or formatted; checked by its check digits."),
    )

    class Meta:
        model = Person
        fields = ["name", "kind", "document", "trade_name", "city", "state", "notes", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.document:
            self.initial["document"] = format_document(self.instance.document)

    def clean_document(self) -> str:
        return normalize_document(self.cleaned_data.get("document") or "")


class CompanyForm(forms.ModelForm):
    cnpj = forms.CharField(label=_("CNPJ"), max_length=20, required=False, help_text=_("Digits only or formatted."))

    class Meta:
        model = Company
        fields = ["code", "name", "cnpj", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.cnpj:
            self.initial["cnpj"] = format_document(self.instance.cnpj)

    def clean_cnpj(self) -> str:
        return normalize_document(self.cleaned_data.get("cnpj") or "")


@admin.register(Company)
class CompanyAdmin(HistoryMixin):
    form = CompanyForm
    list_display = ("code", "name", "cnpj_display", "active")
    list_display_links = ("code", "name")
    list_filter = ("active",)
    search_fields = ("code", "name", "cnpj")
    search_help_text = _("Code, name or CNPJ, with or without the mask.")

    @admin.display(description=_("CNPJ"), ordering="cnpj")
    def cnpj_display(self, obj: Company) -> str:
        return format_document(obj.cnpj)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Company], search_term: str
    ) -> tuple[QuerySet[Company], bool]:
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        number = normalize_document(search_term)
        if number and number != search_term.strip():
            queryset |= self.get_queryset(request).filter(cnpj__startswith=number)
        return queryset, duplicates


class ContactPersonInline(admin.TabularInline):
    model = ContactPerson
    formset = ProtectedInlineFormSet
    fields = ("name", "role", "email", "phone")
    extra = 0


class PhoneInline(admin.TabularInline):
    model = Phone
    formset = ProtectedInlineFormSet
    fields = ("kind", "number")
    extra = 0


class EmailInline(admin.TabularInline):
    model = Email
    formset = ProtectedInlineFormSet
    fields = ("address", "label")
    extra = 0


@admin.register(Person)
class PersonAdmin(HistoryMixin):
    form = PersonForm
    list_display = ("name", "document_display", "kind", "city", "state", "active")
    list_filter = ("kind", "active", "state")
    search_fields = ("name", "document")
    search_help_text = _("Any words of the name (accents and case ignored) or the CPF/CNPJ, with or without the mask.")
    readonly_fields = ("created_at",)
    inlines = [ContactPersonInline, PhoneInline, EmailInline]
    fieldsets = (
        (None, {"fields": ("name", "kind", "document", "trade_name")}),
        (_("Address"), {"fields": ("city", "state")}),
        (_("Other"), {"fields": ("notes", "active", "created_at")}),
    )

    @admin.display(description=_("CPF/CNPJ"), ordering="document")
    def document_display(self, obj: Person) -> str:
        return obj.document_display

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Person], search_term: str
    ) -> tuple[QuerySet[Person], bool]:
        try:
            return queryset.search(search_term), False  # type: ignore[attr-defined]
        except SearchTooShort as err:
            self.message_user(request, err.message, level="warning")
            return queryset.none(), False

    def save_model(self, request: HttpRequest, obj: Person, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new person goes through the same function as the new-ticket page and the API.
        add_person(obj, by=request.user)
        form._ciclo_history = (None, {}, False)  # the history row is written: save_related adds no other
