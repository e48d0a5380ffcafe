app_name = "postmortems"

urlpatterns: list = []
