"""The morning digest's content: the day's follow-up list of a user (ciclo.sales.followup), overdue and today."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse

from ciclo.reminders.sending import site_url
from ciclo.sales.followup import followup_list

# A digest names this many contacts of each group at most, and says how many more there are.
DIGEST_ROWS = 30


def digest_context(user: Any, day: dt.date) -> dict[str, Any] | None:
    """The digest e-mail's context for `user` on `day`; None when nothing is overdue or due that day."""
    found = followup_list(user, today=day, groups=("overdue", "today"), size=DIGEST_ROWS)
    overdue, today = found.overdue, found.today_group
    if not overdue.count and not today.count:
        return None
    return {
        "day": day,
        "overdue": overdue.rows,
        "overdue_count": overdue.count,
        "overdue_more": overdue.count - len(overdue.rows),
        "today": today.rows,
        "today_count": today.count,
        "today_more": today.count - len(today.rows),
        "followup_url": site_url(reverse("followup")),
        "site": site_url(""),
    }
