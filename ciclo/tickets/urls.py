from django.urls import path

from ciclo.tickets.views import cycle, home, new, ticket

urlpatterns = [
    path("", home.home, name="home"),
    path("tickets/new/", new.new_ticket, name="ticket_new"),
    path("people/search/", new.person_search, name="person_search"),
    path("people/contacts/", new.person_contacts, name="person_contacts"),
    path("tickets/<int:pk>/", ticket.ticket_page, name="ticket"),
    path("tickets/<int:pk>/notes/", ticket.note, name="ticket_note"),
    path("tickets/<int:pk>/move/", ticket.move, name="ticket_move"),
    path("tickets/<int:pk>/cycle/", cycle.cycle, name="ticket_cycle"),
    path("tickets/<int:pk>/answers/", cycle.answers, name="ticket_answers"),
    path("tickets/<int:pk>/unlock/<int:cr_id>/", cycle.unlock, name="ticket_unlock"),
]

# Until the query page lands. (temporary, replaced below)
urlpatterns.append(path("tickets/", home.home, name="tickets"))
