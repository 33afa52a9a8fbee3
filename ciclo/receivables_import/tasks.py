"""The check (a dry run: the preview) and the import of an uploaded receivables file, as tasks.

Each reads the file again and calls upsert_receivables, telling its progress on the ImportJob row,
which the page polls. A task run twice does its work once: it starts only from the status the
upload or the confirmation left (a compare-and-swap on the row), and the import itself is idempotent.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext
from django_tasks import task

from ciclo.collections.files import FileRefused, read_sheet
from ciclo.collections.receivables import ImportReport, upsert_receivables
from ciclo.receivables_import.models import ImportJob

Status = ImportJob.Status


def _progress(job_id: int) -> Any:
    def tell(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(done=done, total=total)

    return tell


def _result(report: ImportReport) -> dict[str, Any]:
    return {
        "created": report.created,
        "changed": report.changed,
        "unchanged": report.unchanged,
        "refused_rows": report.refused_rows,
        "refused": [list(r) for r in report.refused],
        "samples": [
            {
                "row": s.row,
                "key": f"{s.company} · {s.document} · {s.instalment}",
                "status": s.status,
                "changes": {k: list(v) for k, v in s.changes.items()},
            }
            for s in report.samples
        ],
        "applied": report.applied,
    }


def run_job(job_id: int, *, apply: bool) -> str:
    """Check (apply=False) or import (apply=True) the job's file; what it did, in one line."""
    started_from = Status.QUEUED if apply else Status.CHECKING
    if apply and not ImportJob.objects.filter(pk=job_id, status=Status.QUEUED).update(status=Status.RUNNING):
        return gettext("Import %(id)s: nothing to do.") % {"id": job_id}
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status != (Status.RUNNING if apply else started_from):
        return gettext("Import %(id)s: nothing to do.") % {"id": job_id}
    by = job.confirmed_by if apply else job.created_by
    try:
        sheet = read_sheet(bytes(job.content), job.file_format)
        ImportJob.objects.filter(pk=job_id).update(total=sheet.lines, done=0)
        report = upsert_receivables(
            sheet.rows,
            by=by or get_user_model().objects.get(pk=job.created_by_id),
            source="import",
            all_or_nothing=job.all_or_nothing,
            dry_run=not apply,
            progress=_progress(job_id),
            refused=sheet.refused,
        )
    except FileRefused as exc:
        ImportJob.objects.filter(pk=job_id).update(status=Status.FAILED, error=str(exc), finished_at=timezone.now())
        return str(exc)
    except Exception as exc:
        ImportJob.objects.filter(pk=job_id).update(
            status=Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    result = _result(report)
    status = Status.DONE if apply else Status.CHECKED
    ImportJob.objects.filter(pk=job_id).update(
        status=status, finished_at=timezone.now() if apply else None, done=report.total, total=report.total, **result
    )
    return gettext("Import %(id)s: %(created)s created, %(changed)s changed, %(refused)s refused.") % {
        "id": job_id,
        "created": report.created,
        "changed": report.changed,
        "refused": report.refused_rows,
    }


@task()
def check_receivables_file(job_id: int) -> str:
    """The preview of an uploaded file: what it would create, change or refuse."""
    return run_job(job_id, apply=False)


@task()
def import_receivables_file(job_id: int) -> str:
    """The import of a file checked and confirmed."""
    return run_job(job_id, apply=True)
