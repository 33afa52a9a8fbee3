from __future__ import annotations

from django.urls import path

from ciclo.collections import ticket_views, views

urlpatterns = [
    path("", views.updates, name="collections"),
    path("update", views.start, name="collections_update_start"),
    path("updates/<str:task_id>/", views.update, name="collections_update"),
    path("updates/<str:task_id>/state", views.update_state_fragment, name="collections_update_state"),
    path("tickets/<int:pk>/promise/", ticket_views.promise, name="collection_promise"),
]
