from django.urls import path

from . import views

app_name = "slos"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("new/", views.slo_create, name="create"),
    path("<int:pk>/", views.slo_detail, name="detail"),
    path("<int:pk>/edit/", views.slo_edit, name="edit"),
    path("<int:pk>/delete/", views.slo_delete, name="delete"),
    path("<int:pk>/policy/", views.policy_edit, name="policy"),
    path("slis/", views.sli_list, name="sli_list"),
    path("slis/new/", views.sli_create, name="sli_create"),
    path("slis/<int:pk>/", views.sli_detail, name="sli_detail"),
    path("slis/<int:pk>/edit/", views.sli_edit, name="sli_edit"),
    path("slis/<int:pk>/sync/", views.sli_sync, name="sli_sync"),
    path("teams/<int:team_id>/alerts/", views.alert_settings, name="alert_settings"),
    path("openslo/import/", views.openslo_import, name="openslo_import"),
    path("openslo/export/", views.openslo_export, name="openslo_export"),
]
