"""Ciclo's REST API (django-ninja), mounted at /api/v1/."""
