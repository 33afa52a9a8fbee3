from __future__ import annotations

from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from ciclo.people.documents import (
    digits,
    document_kind_matches,
    format_document,
    normalize_document,
    validate_cnpj,
    validate_document,
)
from ciclo.people.text import check_search, contains_all, few_matches, fold, fold_all

# SQLite's FTS5 trigram table over people_person.search_key (people migration 0004).
PERSON_SEARCH_FTS = "people_person_search"
# Up to this many people matching a search are read by id, then sorted by name (a few ms); past
# it the words are common, and the name-ordered index finds a page early (few_matches; on
# SQLite the index person_search_name_key holds the key too, so rows skipped are not read).
FEW_PEOPLE = 3000


class Company(models.Model):
    """The user's own company or branch (multi-company)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    cnpj = models.CharField(_("CNPJ"), max_length=14, blank=True, validators=[validate_cnpj])
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        self.cnpj = normalize_document(self.cnpj)  # before the length check: a masked CNPJ has 18 characters
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        self.cnpj = normalize_document(self.cnpj)


class PersonQuerySet(models.QuerySet["Person"]):
    def search(self, query: str) -> PersonQuerySet:
        """Every word of `query` somewhere in the name, trade name or CPF/CNPJ (accents, case and mask ignored).

        The rule is ciclo.people.text's; raises SearchTooShort when no word has 3 characters.
        An empty query finds everyone.
        """
        terms = check_search(query)
        if not terms:
            return self
        few = few_matches(Person, "search_key", PERSON_SEARCH_FTS, terms, FEW_PEOPLE, self.db)
        return self.filter(contains_all("search_key", terms) if few is None else few)


class Person(models.Model):
    """A customer or prospect: CPF for individuals, CNPJ for companies."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual (CPF)")
        LEGAL = "legal", _("Legal entity (CNPJ)")

    name = models.CharField(_("name"), max_length=200)
    search_name = models.CharField(_("search key"), max_length=200, editable=False, db_index=True)
    # Name, trade name and document folded into one text: what search() reads (a trigram index on PostgreSQL).
    search_key = models.TextField(_("search text"), default="", db_default="", editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.INDIVIDUAL)
    document = models.CharField(
        _("CPF/CNPJ"),
        max_length=14,
        blank=True,
        help_text=_("Digits only or formatted; checked by its check digits."),
        validators=[validate_document],
    )
    trade_name = models.CharField(_("trade name"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=2, blank=True)
    notes = models.TextField(_("remarks"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["search_name", "id"]
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            models.UniqueConstraint(
                fields=["document"],
                condition=~models.Q(document=""),
                name="person_document_unique",
                violation_error_message=_("Another person already has this CPF/CNPJ."),
                violation_error_code="unique",  # reported under the document field
            ),
        ]
        indexes = [models.Index(Lower("name"), name="person_lower_name")]

    def __str__(self) -> str:
        if self.document:
            return f"{self.name} ({format_document(self.document)})"
        return self.name

    @property
    def document_display(self) -> str:
        return format_document(self.document)

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        self.document = normalize_document(self.document)  # before the length check: a masked CNPJ has 18
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        self.document = normalize_document(self.document)
        if self.document and not document_kind_matches(self.document, legal=self.kind == self.Kind.LEGAL):
            raise ValidationError(
                {
                    "document": _(
                        "An individual carries a CPF (11 digits); a legal entity a CNPJ (14 letters or digits)."
                    ),
                }
            )

    def refresh_search_key(self) -> None:
        self.search_name = fold(self.name)
        self.search_key = search_key(self.name, self.trade_name, self.document)

    def save(self, *args: object, **kwargs: object) -> None:
        self.document = normalize_document(self.document)
        self.refresh_search_key()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"name", "trade_name", "document"} & set(update_fields):  # type: ignore[call-overload]
            kwargs["update_fields"] = {*update_fields, "search_name", "search_key"}  # type: ignore[misc]
        super().save(*args, **kwargs)  # type: ignore[arg-type]


def search_key(name: str, trade_name: str, document: str) -> str:
    """What a person is found by: name, trade name and the bare CPF/CNPJ, folded."""
    return fold_all(name, trade_name, normalize_document(document))


class ContactPerson(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("person"))
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("contact person")
        verbose_name_plural = _("contact persons")

    def __str__(self) -> str:
        return f"{self.name} ({self.role})" if self.role else self.name


class Phone(models.Model):
    class Kind(models.TextChoices):
        MOBILE = "mobile", _("Mobile")
        LANDLINE = "landline", _("Landline")
        WHATSAPP = "whatsapp", _("WhatsApp")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="phones", verbose_name=_("person"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.MOBILE)
    number = models.CharField(_("number"), max_length=30)

    class Meta:
        ordering = ["id"]
        verbose_name = _("phone")
        verbose_name_plural = _("phones")

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        if not 8 <= len(digits(self.number)) <= 13:
            raise ValidationError({"number": _("A phone number has 8 to 13 digits, area code included.")})


class Email(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="emails", verbose_name=_("person"))
    address = models.EmailField(_("address"))
    label = models.CharField(_("label"), max_length=50, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")

    def __str__(self) -> str:
        return self.address
