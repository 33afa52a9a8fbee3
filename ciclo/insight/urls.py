from django.urls import path

from ciclo.insight import views

urlpatterns = [
    path("", views.phases_page, name="insight_phases"),
    path("funnel/", views.funnel_page, name="insight_funnel"),
    path("people/", views.people_page, name="insight_people"),
    path("answers/", views.answers_page, name="insight_answers"),
    path("<slug:measure>/export.csv", views.export_csv, name="insight_export_csv"),
    path("<slug:measure>/export.xlsx", views.export_xlsx, name="insight_export_xlsx"),
]
