"""Mounted by ciclo/urls.py at /api/v1/."""

from django.urls import path

from ciclo.api.api import api

urlpatterns = [path("", api.urls)]
