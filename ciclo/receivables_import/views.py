"""The web's receivables upload: a CSV or XLSX file, its preview (what it will create, change or refuse),
the confirmation, the import's progress while it runs as a task, and the refused rows as a CSV report.

Administrators and supervisors only. Each step calls one function: the check and the import are
upsert_receivables (a dry run, then for real), run by the tasks of ciclo.receivables_import.tasks.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from ciclo.accounts.decorators import role_required
from ciclo.accounts.roles import Role
from ciclo.collections.files import FIELDS, guess_format, refusals_csv
from ciclo.receivables_import.models import ImportJob
from ciclo.receivables_import.tasks import check_receivables_file, import_receivables_file

MAX_FILE = 20 * 1024 * 1024
loaders = role_required(Role.ADMIN, Role.SUPERVISOR)


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV or XLSX file"))
    all_or_nothing = forms.BooleanField(
        label=gettext_lazy("All or nothing: import no row if any row is refused"), required=False
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if guess_format(upload.name or "") is None:
            raise forms.ValidationError(_("Send a .csv or an .xlsx file."))
        if upload.size > MAX_FILE:
            raise forms.ValidationError(_("The file is too large: at most 20 MB."))
        return upload


def _job(pk: int) -> ImportJob:
    job = ImportJob.objects.select_related("created_by", "confirmed_by").filter(pk=pk).first()
    if job is None:
        raise Http404(_("No such import."))
    return job


@loaders
@require_GET
def upload_page(request: HttpRequest) -> HttpResponse:
    return _upload(request, UploadForm())


def _upload(request: HttpRequest, form: UploadForm, status: int = 200) -> HttpResponse:
    jobs = ImportJob.objects.select_related("created_by").defer("content", "refused", "samples")[:20]
    return render(
        request,
        "receivables_import/upload.html",
        {"form": form, "jobs": jobs, "fields": FIELDS, "nav": "receivables"},
        status=status,
    )


@loaders
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _upload(request, form, status=422)
    upload = form.cleaned_data["file"]
    user: Any = request.user
    job = ImportJob.objects.create(
        created_by=user,
        file_name=(upload.name or "")[:200],
        file_format=guess_format(upload.name or "") or "",
        content=upload.read(),
        all_or_nothing=form.cleaned_data["all_or_nothing"],
    )
    check_receivables_file.enqueue(job.pk)
    return redirect("receivables_job", pk=job.pk)


def _context(job: ImportJob) -> dict[str, Any]:
    return {
        "job": job,
        "Status": ImportJob.Status,
        "refused_shown": job.refused[:200],
        "blocked": job.all_or_nothing and job.refused_rows > 0,
    }


@loaders
@require_GET
def job_page(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(pk)
    return render(request, "receivables_import/job.html", {**_context(job), "nav": "receivables"})


@loaders
@require_GET
def job_state(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's state as the page shows it: what htmx polls while it is checked or imported."""
    return render(request, "receivables_import/_job.html", _context(_job(pk)))


@loaders
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Start the import of a checked file, once (the status changes only from checked to queued)."""
    job = _job(pk)
    user: Any = request.user
    if job.all_or_nothing and job.refused_rows:
        messages.error(
            request, _("Rows are refused and the import is all or nothing: fix the file and upload it again.")
        )
        return redirect("receivables_job", pk=job.pk)
    started = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.CHECKED).update(
        status=ImportJob.Status.QUEUED, confirmed_by=user, done=0
    )
    if started:
        import_receivables_file.enqueue(job.pk)
    else:
        messages.info(request, _("This file is not waiting for confirmation: it was imported or is being imported."))
    return redirect("receivables_job", pk=job.pk)


@loaders
@require_GET
def refused_report(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(pk)
    response = HttpResponse(refusals_csv(job.refused), content_type="text/csv; charset=utf-8")
    stem = job.file_name.rsplit(".", 1)[0] or "receivables"
    response["Content-Disposition"] = f'attachment; filename="{_safe(stem)}-refused.csv"'
    return response


def _safe(name: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name)[:80]
