"""The web upload of receivables: the file, its preview, the confirmation, the import as a task, the report."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ciclo.collections.models import Receivable
from ciclo.history.models import Change
from ciclo.jobs.worker import run_queued_tasks
from ciclo.receivables_import.models import ImportJob

HEADER = "company;document;instalment;person;issue_date;due_date;amount;open_balance;kind;administrative_status"


def sheet(ledger, *lines: str) -> SimpleUploadedFile:
    text = "\n".join([HEADER, *lines]).format(a=ledger.alice.pk, b=ledger.bruno.pk) + "\n"
    return SimpleUploadedFile("titulos.csv", text.encode(), content_type="text/csv")


GOOD = "MTZ;A;1;{a};01/10/2026;01/11/2026;1.500,00;1.500,00;normal;"
SECOND = "MTZ;B;1;{b};01/10/2026;01/11/2026;200;200;normal;1.2"
BAD = "NOPE;C;1;{b};01/10/2026;01/11/2026;200;200;normal;"


def login(client, user):
    client.force_login(user)
    return client


def upload(client, ledger, *lines, **extra):
    return client.post(reverse("receivables_upload_file"), {"file": sheet(ledger, *lines), **extra})


@pytest.mark.parametrize("role", ["admin_user", "supervisor"])
def test_admins_and_supervisors_see_the_upload_page(client, request, role):
    response = login(client, request.getfixturevalue(role)).get(reverse("receivables_upload"))
    assert response.status_code == 200
    assert b"receivables-upload" in response.content


def test_agents_are_refused_and_anonymous_sent_to_log_in(client, agent, ledger):
    assert client.get(reverse("receivables_upload")).status_code == 302
    login(client, agent)
    assert client.get(reverse("receivables_upload")).status_code == 403
    assert upload(client, ledger, GOOD).status_code == 403
    assert not ImportJob.objects.exists()


def test_wrong_methods(client, supervisor):
    login(client, supervisor)
    assert client.post(reverse("receivables_upload")).status_code == 405
    assert client.get(reverse("receivables_upload_file")).status_code == 405


def test_a_file_that_is_not_csv_or_xlsx_is_refused_on_its_field(client, supervisor):
    login(client, supervisor)
    response = client.post(reverse("receivables_upload_file"), {"file": SimpleUploadedFile("x.pdf", b"%PDF")})
    assert response.status_code == 422
    assert "Send a .csv or an .xlsx file." in response.content.decode()
    response = client.post(reverse("receivables_upload_file"), {})
    assert response.status_code == 422
    assert not ImportJob.objects.exists()


def test_upload_preview_confirm_and_import(client, supervisor, admin_user, ledger):
    login(client, supervisor)
    response = upload(client, ledger, GOOD, SECOND, BAD)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("receivables_job", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    assert 'data-status="checking"' in page and "every 1s" in page
    run_queued_tasks()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED
    assert (job.created, job.changed, job.refused_rows) == (2, 0, 1)
    assert not Receivable.objects.exists()  # only a preview so far
    state = client.get(reverse("receivables_job_state", args=[job.pk])).content.decode()
    assert "every 1s" not in state and "confirm-import" in state and "NOPE" in state
    assert "MTZ · A · 1" in state
    # Another administrator confirms it.
    login(client, admin_user)
    assert client.post(reverse("receivables_confirm", args=[job.pk])).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED and job.confirmed_by == admin_user
    assert 'data-status="queued"' in client.get(reverse("receivables_job_state", args=[job.pk])).content.decode()
    # A second confirmation starts nothing more.
    client.post(reverse("receivables_confirm", args=[job.pk]))
    results = run_queued_tasks()
    assert len(results) == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.applied and (job.created, job.refused_rows) == (2, 1)
    assert sorted(Receivable.objects.values_list("document", flat=True)) == ["A", "B"]
    history = Change.objects.filter(content_type=ContentType.objects.get_for_model(Receivable))
    assert {c.by for c in history} == {admin_user}
    done = client.get(reverse("receivables_job", args=[job.pk])).content.decode()
    assert "job-done" in done and "confirm-import" not in done


def test_the_refused_rows_report_names_line_field_and_reason(client, supervisor, ledger):
    login(client, supervisor)
    upload(client, ledger, GOOD, BAD, "MTZ;D;1;{a};31/02/2026;01/11/2026;1;1;normal;")
    run_queued_tasks()
    job = ImportJob.objects.get()
    response = client.get(reverse("receivables_refused", args=[job.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="titulos-refused.csv"' in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0] == ["row", "field", "reason"]
    assert [(line[0], line[1]) for line in lines[1:]] == [("3", "company"), ("4", "issue_date")]
    assert "NOPE" in lines[1][2]


def test_all_or_nothing_with_a_refused_row_cannot_be_confirmed(client, supervisor, ledger):
    login(client, supervisor)
    upload(client, ledger, GOOD, BAD, all_or_nothing="on")
    run_queued_tasks()
    job = ImportJob.objects.get()
    assert job.all_or_nothing and job.refused_rows == 1
    page = client.get(reverse("receivables_job", args=[job.pk])).content.decode()
    assert "confirm-import" not in page and "all or nothing" in page
    client.post(reverse("receivables_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED
    assert run_queued_tasks() == [] and not Receivable.objects.exists()


def test_a_file_that_cannot_be_read_fails_with_its_reason(client, supervisor):
    login(client, supervisor)
    client.post(reverse("receivables_upload_file"), {"file": SimpleUploadedFile("x.csv", b"colour;size\n1;2\n")})
    run_queued_tasks()
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED and "Unknown columns" in job.error
    assert "Unknown columns" in client.get(reverse("receivables_job", args=[job.pk])).content.decode()


def test_an_unknown_job_is_404_and_agents_see_no_job(client, supervisor, agent, ledger):
    login(client, supervisor)
    assert client.get(reverse("receivables_job", args=[999999])).status_code == 404
    upload(client, ledger, GOOD)
    job = ImportJob.objects.get()
    login(client, agent)
    for name in ("receivables_job", "receivables_job_state", "receivables_refused"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 403
    assert client.post(reverse("receivables_confirm", args=[job.pk])).status_code == 403


def test_the_menu_leads_supervisors_to_the_upload_and_not_agents(client, supervisor, agent):
    link = f'href="{reverse("receivables_upload")}"'
    assert link in login(client, supervisor).get(reverse("home")).content.decode()
    assert link not in login(client, agent).get(reverse("home")).content.decode()
