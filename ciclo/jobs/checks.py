"""System checks: CICLO_SCHEDULES names jobs that exist (its schedules were checked as settings loaded)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register()
def schedules_name_known_jobs(**kwargs: Any) -> list[checks.CheckMessage]:
    from ciclo.jobs.schedules import JOBS

    known = {job.name for job in JOBS}
    return [
        checks.Error(
            f"CICLO_SCHEDULES names the job {name!r}, which does not exist",
            hint=f"The jobs are: {', '.join(sorted(known))} (ciclo/jobs/schedules.py)",
            id="ciclo.jobs.E001",
        )
        for name in settings.CICLO_SCHEDULES
        if name not in known
    ]
