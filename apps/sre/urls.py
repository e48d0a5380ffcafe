from django.urls import path

from . import views

app_name = "sre"
urlpatterns = [
    path("gate/<int:pk>/override/", views.override_create, name="override"),
]
