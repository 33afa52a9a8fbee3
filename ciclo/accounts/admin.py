"""Users: their role (admin, supervisor, agent) and the companies they may work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ciclo.accounts.models import ApiToken, Profile, UserCompany
from ciclo.accounts.roles import ROLE_ORDER, Role, set_role
from ciclo.accounts.tokens import create_token, revoke_token
from ciclo.history.admin import HistoryMixin, ProtectedInlineFormSet

ROLE_HELP = _(
    "Agents open and work tickets; supervisors also move tickets anywhere and override required questions; "
    "administrators configure everything. Superusers are always administrators."
)


def _role_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("role"), required=False, choices=[("", _("No role")), *Role.choices], help_text=ROLE_HELP
    )


def _role_from_groups(groups: Any) -> str:
    names = {g.name for g in groups}
    return next((r.value for r in ROLE_ORDER if r.value in names), "")


class UserRoleChangeForm(UserChangeForm):
    role = _role_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["role"] = _role_from_groups(self.instance.groups.all())


class UserRoleCreationForm(AdminUserCreationForm):
    role = _role_field()


def apply_role(user: User, role: str) -> None:
    if role:
        set_role(user, Role(role))
    else:
        user.groups.remove(*Group.objects.filter(name__in=[r.value for r in ROLE_ORDER]))


class UserCompanyInline(admin.TabularInline):
    model = UserCompany
    formset = ProtectedInlineFormSet
    fields = ("company",)
    extra = 0
    verbose_name_plural = _("companies this user may work (when access control user × company is on)")


class ProfileInline(admin.StackedInline):
    model = Profile
    fields = ("language",)
    can_delete = False
    verbose_name_plural = _("preferences")


admin.site.unregister(User)


@admin.register(User)
class CicloUserAdmin(HistoryMixin, UserAdmin):
    form = UserRoleChangeForm
    add_form = UserRoleCreationForm
    # The user row itself is not copied into history: it holds the password hash.
    history_records_object = False
    inlines = [ProfileInline, UserCompanyInline]
    list_display = ("username", "first_name", "last_name", "role_display", "companies_display", "is_active")
    list_filter = ("is_active", "is_superuser", "groups")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Role"), {"fields": ("role", "is_active")}),
        (
            _("Advanced permissions"),
            {"classes": ("collapse",), "fields": ("is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (_("Role"), {"fields": ("role",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups", "company_access__company")

    @admin.display(description=_("role"))
    def role_display(self, obj: User) -> str:
        if obj.is_superuser:
            return str(_("Administrator (superuser)"))
        role = _role_from_groups(obj.groups.all())
        return str(Role(role).label) if role else "—"

    @admin.display(description=_("companies"))
    def companies_display(self, obj: User) -> str:
        companies = [str(access.company) for access in obj.company_access.all()]
        return ", ".join(companies) if companies else "—"

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # The role wins over the groups picked by hand, but only when it was changed.
        if "role" in form.changed_data:
            apply_role(form.instance, form.cleaned_data.get("role") or "")


@admin.register(UserCompany)
class UserCompanyAdmin(HistoryMixin):
    list_display = ("user", "company")
    list_filter = ("company",)
    list_select_related = ("user", "company")
    search_fields = ("user__username", "user__first_name", "user__last_name", "company__code", "company__name")
    search_help_text = _("User or company.")


_TOKEN_CREATED = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}{% load static %}
{% block extrastyle %}{{ block.super }}<link rel="stylesheet" href="{% static 'ciclo/admin.css' %}">{% endblock %}
{% block content %}
<p>{{ intro }}</p>
<p><code class="ciclo-new-token">{{ token }}</code></p>
<p>{{ warning }}</p>
<p><a class="button" href="{{ back }}">{{ back_label }}</a></p>
{% endblock %}"""
)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created here (the token is shown once) and revoked, never edited or deleted."""

    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["prefix", "name", "user__username"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        return [*self.readonly_fields, "user", "name"] if obj else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False  # revoke instead: the history keeps who had which token

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            return  # nothing of a token changes but its revocation (the action)
        token, raw = create_token(obj.user, name=obj.name, by=request.user)
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = token.pk, token.prefix, token.key_hash, token.created_at
        obj._state.adding = False
        request._ciclo_new_token = raw  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None) -> HttpResponse:
        raw = getattr(request, "_ciclo_new_token", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("API token created"),
            "intro": gettext("The token of %(user)s (%(prefix)s):") % {"user": obj.user, "prefix": obj.prefix},
            "token": raw,
            "warning": gettext("Copy it now: it is kept only as a hash and will not be shown again."),
            "back": "../",
            "back_label": gettext("Back to the tokens"),
        }
        response = HttpResponse(_TOKEN_CREATED.render(context, request))
        response["Cache-Control"] = "no-store"  # the page itself shows the token: never cache it
        return response

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = sum(revoke_token(token, by=request.user) for token in queryset.filter(revoked_at=None))
        self.message_user(request, ngettext("%(n)d token revoked.", "%(n)d tokens revoked.", count) % {"n": count})
