from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
extra_urlpatterns = [
    path("sre/gate/<int:pk>/", views.GateView.as_view(), name="sre-gate"),
    path("sre/gate/<int:pk>/override/", views.OverrideView.as_view(), name="sre-gate-override"),
]
