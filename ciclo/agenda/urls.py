from django.urls import path

from ciclo.agenda import views

urlpatterns = [
    path("", views.week, name="agenda_week"),
    path("day/", views.day, name="agenda_day"),
    path("month/", views.month, name="agenda_month"),
    path("new/", views.new, name="agenda_new"),
    path("<int:pk>/", views.appointment, name="agenda_appointment"),
    path("<int:pk>/edit/", views.edit, name="agenda_edit"),
    path("<int:pk>/done/", views.done, name="agenda_done"),
    path("<int:pk>/cancel/", views.cancel, name="agenda_cancel"),
]
