from __future__ import annotations

from django.urls import path

from ciclo.collections import ticket_views

urlpatterns = [
    path("tickets/<int:pk>/promise/", ticket_views.promise, name="collection_promise"),
]
