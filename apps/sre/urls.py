app_name = "sre"
urlpatterns = []
