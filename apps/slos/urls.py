app_name = "slos"

urlpatterns: list = []
