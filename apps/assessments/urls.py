from django.urls import path

from . import views

app_name = "assessments"

urlpatterns = [
    path("", views.index, name="index"),
    path("campaigns/new/", views.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/export.csv", views.campaign_export, name="campaign_export"),
    path("frameworks/<int:pk>/", views.framework_detail, name="framework"),
    path("history/<int:team_pk>/", views.team_history, name="team_history"),
    path("<int:pk>/", views.assessment_detail, name="detail"),
    path("<int:pk>/questions/<int:question_pk>/", views.answer_save, name="answer"),
    path("<int:pk>/submit/", views.assessment_submit, name="submit"),
    path("<int:pk>/reopen/", views.assessment_reopen, name="reopen"),
    path("<int:pk>/result/", views.assessment_result, name="result"),
]
