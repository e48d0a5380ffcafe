from django.urls import path

from . import views

app_name = "initiatives"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/status/", views.set_status, name="status"),
    path("<int:pk>/progress/", views.refresh, name="refresh"),
    path("<int:pk>/graduate/", views.graduate, name="graduate"),
    path("<int:pk>/export.csv", views.export_csv, name="export_csv"),
]
