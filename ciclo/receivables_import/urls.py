from django.urls import path

from ciclo.receivables_import import views

urlpatterns = [
    path("", views.upload_page, name="receivables_upload"),
    path("upload", views.upload, name="receivables_upload_file"),
    path("<int:pk>/", views.job_page, name="receivables_job"),
    path("<int:pk>/state", views.job_state, name="receivables_job_state"),
    path("<int:pk>/confirm", views.confirm, name="receivables_confirm"),
    path("<int:pk>/refused.csv", views.refused_report, name="receivables_refused"),
]
