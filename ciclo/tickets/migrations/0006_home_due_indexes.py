"""Two indexes for the home page of someone with tens of thousands of contacts due.

ticket_user_phase_open (next contact user, phase, next contact, id) over open tickets: the
per-phase counts (capped, each read from its own range of this index) and one phase's list;
ticket_due_open (next contact, id) over open tickets: a supervisor's team view, everyone's
contacts due in order. Plain CREATE INDEX on both databases (no table rebuild on SQLite, so
the search triggers of 0005 stay).
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("configurator", "0003_alter_question_answer_type"),
        ("people", "0004_person_search_fts"),
        ("tickets", "0005_ticket_search_fts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status", "open")),
                fields=["next_contact_user", "cr", "next_contact_at", "id"],
                name="ticket_user_phase_open",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status", "open")), fields=["next_contact_at", "id"], name="ticket_due_open"
            ),
        ),
    ]
