from django.urls import path

from . import views

app_name = "sre"
urlpatterns = [
    path("gate/<int:pk>/override/", views.override_create, name="override"),
    path("teams/<int:team_id>/toil/", views.toil_list, name="toil"),
    path("teams/<int:team_id>/toil/new/", views.toil_create, name="toil_create"),
    path("teams/<int:team_id>/toil/review/", views.toil_review, name="toil_review"),
    path("toil/<int:pk>/edit/", views.toil_edit, name="toil_edit"),
]
