from django.urls import path

from . import views

app_name = "servicechecks"

urlpatterns = [
    path("", views.index, name="index"),
]
