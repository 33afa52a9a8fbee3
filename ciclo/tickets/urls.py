from django.urls import path

from ciclo.sales import ticket_views as sales
from ciclo.tickets.views import cycle, export, home, new, query, ticket, unlock

urlpatterns = [
    path("", home.home, name="home"),
    path("tickets/", query.tickets, name="tickets"),
    path("tickets/export.csv", export.export_csv, name="tickets_export_csv"),
    path("tickets/export.xlsx", export.export_xlsx, name="tickets_export_xlsx"),
    path("tickets/scenarios/", query.scenario_save, name="scenario_save"),
    path("tickets/scenarios/<int:pk>/", query.scenario_open, name="scenario_open"),
    path("tickets/scenarios/<int:pk>/rename/", query.scenario_rename, name="scenario_rename"),
    path("tickets/scenarios/<int:pk>/delete/", query.scenario_delete, name="scenario_delete"),
    path("tickets/new/", new.new_ticket, name="ticket_new"),
    path("people/search/", new.person_search, name="person_search"),
    path("people/new/", new.person_create, name="person_create"),
    path("people/contacts/", new.person_contacts, name="person_contacts"),
    path("tickets/<int:pk>/", ticket.ticket_page, name="ticket"),
    path("tickets/<int:pk>/notes/", ticket.note, name="ticket_note"),
    path("tickets/<int:pk>/notes/required/", ticket.note_required, name="ticket_note_required"),
    path("tickets/<int:pk>/move/", ticket.move, name="ticket_move"),
    path("tickets/<int:pk>/sales/", sales.sales_update, name="ticket_sales"),
    path("tickets/<int:pk>/sales/referrals/", sales.sales_referrals, name="ticket_sales_referrals"),
    path("tickets/<int:pk>/sales/reopen/", sales.sales_reopen, name="ticket_sales_reopen"),
    path("tickets/<int:pk>/move/decisions/", ticket.move_decisions, name="ticket_move_decisions"),
    path("tickets/<int:pk>/cycle/", cycle.cycle, name="ticket_cycle"),
    path("tickets/<int:pk>/answers/", cycle.answers, name="ticket_answers"),
    path("tickets/<int:pk>/unlock/<int:cr_id>/", unlock.unlock, name="ticket_unlock"),
    path("tickets/<int:pk>/relock/<int:cr_id>/", unlock.relock, name="ticket_relock"),
]
