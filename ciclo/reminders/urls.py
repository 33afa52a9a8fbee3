"""Mounted by ciclo/urls.py at /calendar/."""

from django.urls import path

from ciclo.reminders import views

urlpatterns = [
    path("feed/renew/", views.renew_feed, name="calendar_feed_renew"),
    path("feed/revoke/", views.revoke_feed, name="calendar_feed_revoke"),
    path("appointments/<int:pk>.ics", views.appointment_ics, name="appointment_ics"),
    path("notices/<int:pk>/dismiss/", views.dismiss, name="reminder_dismiss"),
    path("feed.ics", views.calendar_feed, name="calendar_feed"),
]
