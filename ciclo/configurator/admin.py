"""The Configurator: CRs, workflows, service cycles, service types and the CRM options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Count, QuerySet
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ciclo.accounts.roles import may_use_admin
from ciclo.configurator import changes
from ciclo.configurator.forms import (
    CrmOptionsForm,
    CycleForm,
    CycleQuestionForm,
    ItemForm,
    ItemFormSet,
    OptionForm,
    OptionInlineFormSet,
    QuestionForm,
    QuestionInlineFormSet,
    ResponsibilityCenterForm,
    ServiceTypeForm,
    WorkflowForm,
    WorkflowStepForm,
    WorkflowStepFormSet,
)
from ciclo.configurator.models import (
    CrmOptions,
    Option,
    Question,
    ResponsibilityCenter,
    ServiceCycle,
    ServiceType,
    Workflow,
    WorkflowStep,
)
from ciclo.history.admin import HistoryMixin

admin.site.site_header = _("Ciclo")
admin.site.site_title = _("Ciclo")
admin.site.index_title = _("Configurator")
# Agents are kept out: the admin's login page answers them, as it does anyone not allowed in.
admin.site.has_permission = lambda request: request.user.is_active and may_use_admin(request.user)  # type: ignore[method-assign]


def _adopt(obj: models.Model, row: models.Model) -> None:
    """Make the page's object the row the change saved: its id (for the redirect and Django's
    log) and its values, as Django's own saving would have left them."""
    for field in row._meta.concrete_fields:
        setattr(obj, field.attname, getattr(row, field.attname))
    obj._state.adding = False
    obj._state.db = row._state.db
    obj._state.fields_cache.clear()


def _note_rows(formset: Any) -> None:
    """What Django's log of the change reads of a formset it did not save."""
    if not isinstance(formset, ItemFormSet):
        return
    kept = formset.kept_forms()
    formset.new_objects = [f.instance for f in kept if f.instance.pk is None]
    formset.changed_objects = [
        (f.instance, f.changed_data) for f in kept if f.instance.pk is not None and f.has_changed()
    ]
    formset.deleted_objects = [f.instance for f in formset.initial_forms if formset.deleting(f)]


def _item_of(formsets: list[Any], kind: type[ItemFormSet]) -> Any:
    formset = next(f for f in formsets if isinstance(f, kind))
    assert formset.item is not None, "saved without its item checked"
    return formset


class ConfigurationAdmin(HistoryMixin):
    """A Configurator page: saved, deleted and (de)activated through `configurator.changes`.

    The page's form and inline rows build the item in clean(), where changes checks it;
    on save, changes writes it whole in one transaction with its history rows, so neither
    Django's own saving nor the HistoryMixin's recording runs for these objects.
    """

    # How changes saves the page's item (changes.save_cr…); a page that saves otherwise overrides save_item.
    save_with: ClassVar[Callable[..., models.Model]]

    def save_item(self, request: HttpRequest, form: Any, formsets: list[Any]) -> models.Model:
        """Save the page's checked item through changes — the form's own item, or its rows' — and
        return the row the page is about."""
        rows = [f for f in formsets if isinstance(f, ItemFormSet)]
        item = form.item if isinstance(form, ItemForm) else rows[0].item
        assert item is not None, "saved without its item checked"
        return type(self).save_with(item, by=request.user, saved=self.saved(form))

    @staticmethod
    def saved(form: BaseForm) -> Any:
        instance = form.instance  # type: ignore[attr-defined]
        return instance if instance.pk is not None else None

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        return form.instance

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Nothing yet: the item is saved whole, with its rows, in save_related."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        row = self.save_item(request, form, list(formsets))
        _adopt(form.instance, row)
        for formset in formsets:
            _note_rows(formset)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        _note_rows(formset)  # saved with the item

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        changes.delete(obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            for obj in queryset:
                changes.delete(obj, by=request.user)

    def change_active(self, request: HttpRequest, obj: Any, active: bool) -> bool:
        return changes.set_active(obj, active, by=request.user)

    # Refused while saving (someone changed the configuration meanwhile): a message, never an error page.

    def _refused(self, request: HttpRequest, exc: changes.ConfigurationInvalid) -> HttpResponse:
        problems = " ".join(problem.message for problem in exc.problems)
        self.message_user(request, gettext("Nothing was saved: %(problems)s") % {"problems": problems}, messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().changeform_view(request, *args, **kwargs)
        except changes.ConfigurationInvalid as exc:
            return self._refused(request, exc)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().delete_view(request, *args, **kwargs)
        except changes.ConfigurationInvalid as exc:
            return self._refused(request, exc)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().changelist_view(request, *args, **kwargs)
        except changes.ConfigurationInvalid as exc:
            return self._refused(request, exc)


@admin.register(ResponsibilityCenter)
class ResponsibilityCenterAdmin(ConfigurationAdmin):
    form = ResponsibilityCenterForm
    save_with = staticmethod(changes.save_cr)
    list_display = ("code", "description", "closes_process", "member_count", "active")
    list_display_links = ("code", "description")
    list_filter = ("closes_process", "active")
    search_fields = ("code", "description")
    search_help_text = _("Classification or description.")
    ordering = ("code_key",)
    filter_horizontal = ("members",)
    fieldsets = (
        (
            None,
            {
                "fields": ("code", "description", "closes_process", "active"),
                "description": _(
                    "A responsibility center (CR) is a phase of a ticket. Its classification (1, 1.2, 1.02…) orders "
                    "the list. A ticket that reaches a CR that closes the process is closed."
                ),
            },
        ),
        (_("Who works it"), {"fields": ("members",)}),
        (
            _("Sales follow-up"),
            {
                "fields": ("default_success", "stale_after_days"),
                "description": _(
                    "For sales tickets: the success chance a ticket takes on entering this phase (unless someone "
                    "set it by hand), and the business days after which a ticket still here is flagged as stale."
                ),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ResponsibilityCenter]:
        return super().get_queryset(request).annotate(member_total=Count("members", distinct=True))

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, obj: ResponsibilityCenter) -> Any:
        return obj.member_total or _("anyone")  # type: ignore[attr-defined]


class SharedChoicesInline(admin.TabularInline):
    """Reads the choices of its select boxes once per page, not once per row."""

    shared_choices: tuple[str, ...] = ()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and db_field.name in self.shared_choices:
            field.choices = list(iter(field.choices))  # type: ignore[arg-type]  # iter: no COUNT first
        return field

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        # A row of a table keeps only the "add" button beside its selects.
        widget = getattr(field, "widget", None)
        if widget is not None and hasattr(widget, "can_delete_related"):
            widget.can_delete_related = widget.can_change_related = widget.can_view_related = False
        return field


class WorkflowStepInline(SharedChoicesInline):
    model = WorkflowStep
    fk_name = "workflow"
    form = WorkflowStepForm
    formset = WorkflowStepFormSet
    shared_choices = ("cr", "target_workflow")
    ordering = ("order",)
    extra = 1
    verbose_name_plural = _("steps (a ticket starts at the lowest order)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkflowStep]:
        return super().get_queryset(request).select_related("cr", "target_workflow").prefetch_related("options")


@admin.register(Workflow)
class WorkflowAdmin(ConfigurationAdmin):
    form = WorkflowForm
    save_with = staticmethod(changes.save_workflow)
    list_display = ("code", "description", "step_count", "active")
    list_display_links = ("code", "description")
    list_filter = ("active",)
    search_fields = ("code", "description")
    search_help_text = _("Code or description.")
    inlines = [WorkflowStepInline]
    readonly_fields = ("problems",)
    fieldsets = (
        (
            None,
            {
                "fields": ("code", "description", "active"),
                "description": _(
                    "The route a ticket follows. Each step has a unique order (numbered in fives: 0, 5, 10…). "
                    "A CR step goes to its next order (empty only on a CR that closes the process); a decision "
                    "asks a question and each option goes to an order (write the options one per line, "
                    "“Label = order”); a jump continues in another workflow at a given order. The workflow is "
                    "checked as a whole when you save: every order must exist, every step must be reachable "
                    "from the start, and a closing CR must be reachable from every step."
                ),
            },
        ),
        (_("Check"), {"fields": ("problems",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Workflow]:
        return super().get_queryset(request).annotate(step_total=Count("steps", distinct=True))

    @admin.display(description=_("steps"), ordering="step_total")
    def step_count(self, obj: Workflow) -> int:
        return obj.step_total  # type: ignore[attr-defined,no-any-return]

    @admin.display(description=_("problems"))
    def problems(self, obj: Workflow | None) -> str:
        if obj is None or obj.pk is None:
            return "—"
        problems = changes.check_workflow_item(changes.workflow_item(obj), obj)
        if not problems:
            return _("None: tickets can run through this workflow.")  # type: ignore[return-value]
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((p.message,) for p in problems)))


class QuestionInline(SharedChoicesInline):
    model = Question
    form = CycleQuestionForm
    formset = QuestionInlineFormSet
    shared_choices = ("cr",)
    fields = ("code", "text", "cr", "answer_type", "required", "active")
    ordering = ("code_key",)
    extra = 1
    show_change_link = True
    verbose_name_plural = _("questions (open one to edit its options, help text and limits)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        return super().get_queryset(request).select_related("cr")


@admin.register(ServiceCycle)
class ServiceCycleAdmin(ConfigurationAdmin):
    form = CycleForm
    save_with = staticmethod(changes.save_cycle)
    list_display = ("code", "description", "question_count", "active")
    list_display_links = ("code", "description")
    list_filter = ("active",)
    search_fields = ("code", "description")
    search_help_text = _("Code or description.")
    inlines = [QuestionInline]
    fieldsets = (
        (
            None,
            {
                "fields": ("code", "description", "active"),
                "description": _(
                    "The scripted questions to ask in each CR. Every CR a question is asked in must be on the "
                    "workflow of the service types that use this cycle."
                ),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ServiceCycle]:
        return super().get_queryset(request).annotate(question_total=Count("questions", distinct=True))

    @admin.display(description=_("questions"), ordering="question_total")
    def question_count(self, obj: ServiceCycle) -> int:
        return obj.question_total  # type: ignore[attr-defined,no-any-return]


class OptionInline(admin.TabularInline):
    model = Option
    form = OptionForm
    formset = OptionInlineFormSet
    ordering = ("position", "id")
    extra = 1
    verbose_name_plural = _("options (multiple-choice questions only)")


@admin.register(Question)
class QuestionAdmin(ConfigurationAdmin):
    """A question with its options; saved as its cycle with this question replaced."""

    form = QuestionForm
    list_display = ("code", "text", "cycle", "cr", "answer_type", "required", "active")
    list_display_links = ("code", "text")
    list_filter = ("cycle", "cr", "answer_type", "required", "active")
    list_select_related = ("cycle", "cr")
    search_fields = ("code", "text", "help_text")
    search_help_text = _("Classification, question or help text.")
    ordering = ("cycle__code", "code_key")
    inlines = [OptionInline]
    fieldsets = (
        (None, {"fields": ("cycle", "cr", "code", "text", "help_text")}),
        (
            _("Answer"),
            {
                "fields": ("answer_type", "required", "min_value", "max_value", "active"),
                "description": _(
                    "Minimum and maximum apply to numbers and money. The two multiple-choice types need at least "
                    "one active option, listed below."
                ),
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A question stays in its cycle (its answers belong to that cycle's tickets).
        return ("cycle",) if obj is not None else ()

    def save_item(self, request: HttpRequest, form: Any, formsets: list[Any]) -> models.Model:
        options = _item_of(formsets, OptionInlineFormSet)
        cycle = changes.save_cycle(options.item, by=request.user, saved=options.cycle)
        return Question.objects.get(cycle=cycle, code=options.question_code)


@admin.register(ServiceType)
class ServiceTypeAdmin(ConfigurationAdmin):
    form = ServiceTypeForm
    # The others' group follows a group added, moved or removed: changes sees to it.
    save_with = staticmethod(changes.save_service_type)
    list_display = (
        "code",
        "description",
        "kind",
        "category",
        "parent",
        "workflow",
        "cycle",
        "swatch",
        "active",
    )
    list_display_links = ("code", "description")
    list_filter = ("kind", "category", "active", "workflow", "cycle")
    list_select_related = ("parent", "workflow", "cycle")
    search_fields = ("code", "description")
    search_help_text = _("Classification or description.")
    ordering = ("code_key",)
    readonly_fields = ("parent",)
    fieldsets = (
        (
            None,
            {
                "fields": ("code", "description", "kind", "category", "sales", "parent"),
                "description": _(
                    "Synthetic types group others; analytical types are used on tickets and sit under the "
                    "synthetic type whose classification prefixes theirs (1.1 under 1)."
                ),
            },
        ),
        (_("New tickets"), {"fields": ("priority", "days_to_next_contact", "colour", "active_from", "active")}),
        (
            _("Route and script"),
            {
                "fields": ("workflow", "cycle"),
                "description": _("Every CR the cycle asks questions in must be on the workflow."),
            },
        ),
    )

    @admin.display(description=_("colour"), ordering="colour")
    def swatch(self, obj: ServiceType) -> str:
        return format_html(
            # A drawing, not a style attribute: the Content-Security-Policy allows no inline style.
            '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">'
            '<rect x=".5" y=".5" width="15" height="15" rx="3" fill="{}" stroke="#888"/></svg> {}',
            obj.colour,
            obj.colour,
        )


@admin.register(CrmOptions)
class CrmOptionsAdmin(ConfigurationAdmin):
    """One row: the list goes straight to it."""

    form = CrmOptionsForm
    fieldsets = (
        (_("Sales follow-up"), {"fields": ("use_cycle_in_followup",)}),
        (
            _("Collections"),
            {
                "fields": (
                    "collection_synthetic_type",
                    "collection_analytical_type",
                    "collection_delegate_user",
                    "automatic_note_user",
                    "collection_days_overdue",
                    "collection_grouping",
                    "email_debtor_on_collection",
                ),
                "description": _("The collection types cannot change once a collection ticket exists."),
            },
        ),
        (_("Access"), {"fields": ("access_control_user_company",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not CrmOptions.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_item(self, request: HttpRequest, form: Any, formsets: list[Any]) -> models.Model:
        assert isinstance(form, CrmOptionsForm)
        return changes.save_crm_options(form.values(), by=request.user)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        options = CrmOptions.current()
        return HttpResponseRedirect(reverse("admin:configurator_crmoptions_change", args=[options.pk]))

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        obj = kwargs.get("obj")
        if obj is not None and changes.collections_exist(obj):
            self.message_user(request, _("Collection tickets exist: the collection types are locked."), messages.INFO)
        return super().render_change_form(request, context, *args, **kwargs)
