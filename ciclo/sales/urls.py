from django.urls import path

from ciclo.sales import views

urlpatterns = [
    path("", views.followup_page, name="followup"),
    path("export.csv", views.export_csv, name="followup_export_csv"),
    path("export.xlsx", views.export_xlsx, name="followup_export_xlsx"),
    path("<int:pk>/call/", views.call_panel, name="followup_call"),
    path("<int:pk>/call/record/", views.call, name="followup_call_record"),
]
