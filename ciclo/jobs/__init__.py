"""Background work: tasks, the worker, periodic jobs, and what /healthz reports of them.

Writing a task (any app): a module-level function decorated with ``django_tasks.task`` (Django 6's
``django.tasks``, backported), queued with ``.enqueue(...)``; arguments and return value are JSON.
Task code never depends on which backend runs it (settings: CICLO_TASKS_BACKEND, database or redis).

    from django_tasks import task

    @task()
    def send_welcome(user_id: int) -> str: ...

    send_welcome.enqueue(user.pk)            # from a view: returns at once, a worker sends it

Running queued tasks in a test (the database backend, which tests use): in the test's own process
and transaction, as a worker would, then assert what they did:

    from ciclo.jobs.worker import run_queued_tasks

    results = run_queued_tasks()              # every task waiting, and those they queue
    assert [r.status for r in results] == ["SUCCESSFUL"]

A periodic job is one line in ciclo/jobs/schedules.py (JOBS); `ciclo scheduler` runs it once per
period. Processes: `ciclo worker` (ciclo/jobs/worker.py), `ciclo scheduler` (scheduler.py).
This module imports nothing: settings.py reads ciclo/jobs/when.py while it loads.
"""
