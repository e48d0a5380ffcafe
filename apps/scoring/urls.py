from django.urls import path

from . import views

app_name = "scoring"

urlpatterns = [
    path("", views.index, name="index"),
    path("compare/", views.compare, name="compare"),
    path("report/", views.report, name="report"),
    path("export.csv", views.export_csv, name="export"),
    path("run/", views.run_now, name="run"),
    path("scorecards/<int:pk>/", views.team_scorecard, name="team"),
    path("scorecards/<int:pk>/exemptions/", views.exemption_request, name="exemption_request"),
    path("exemptions/<int:pk>/<str:action>/", views.exemption_decide, name="exemption_decide"),
]
