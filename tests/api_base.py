"""Generic API tests in the manner of NetBox: subclass, declare, get list/get/create/update/delete.

    class TestServiceAPI(APICrudTests):
        endpoint = "/api/v1/services/"
        def make_object(self, cast): ...
        def create_payload(self, cast): ...
        update_payload = {"description": "changed"}

Each test runs as the org admin (who may change everything in the org) and
checks the database, not only the response.
"""

import pytest


@pytest.mark.django_db
class APICrudTests:
    endpoint: str = ""
    update_payload: dict = {}
    actor: str = "org_admin"

    def make_object(self, cast):
        raise NotImplementedError

    def create_payload(self, cast) -> dict:
        raise NotImplementedError

    def model(self, cast):
        return type(self.make_object(cast))

    def test_list(self, cast, api_for):
        obj = self.make_object(cast)
        response = api_for(self.actor).get(self.endpoint)
        assert response.status_code == 200
        body = response.json()
        assert {"count", "next", "previous", "results"} <= set(body)
        assert obj.pk in {row["id"] for row in body["results"]}

    def test_get(self, cast, api_for):
        obj = self.make_object(cast)
        response = api_for(self.actor).get(f"{self.endpoint}{obj.pk}/")
        assert response.status_code == 200
        assert response.json()["id"] == obj.pk

    def test_create(self, cast, api_for):
        model = self.model(cast)
        before = model.objects.count()
        response = api_for(self.actor).post(self.endpoint, self.create_payload(cast), format="json")
        assert response.status_code == 201, response.json()
        assert model.objects.count() == before + 1
        assert model.objects.filter(pk=response.json()["id"]).exists()

    def test_create_rejects_bad_input_and_writes_nothing(self, cast, api_for):
        model = self.model(cast)
        before = model.objects.count()
        response = api_for(self.actor).post(self.endpoint, {}, format="json")
        assert response.status_code == 400
        assert response.json()  # names the missing fields
        assert model.objects.count() == before

    def test_update(self, cast, api_for):
        obj = self.make_object(cast)
        response = api_for(self.actor).patch(f"{self.endpoint}{obj.pk}/", self.update_payload, format="json")
        assert response.status_code == 200, response.json()
        obj.refresh_from_db()
        for key, value in self.update_payload.items():
            current = getattr(obj, key)
            assert getattr(current, "pk", current) == value

    def test_delete(self, cast, api_for):
        obj = self.make_object(cast)
        response = api_for(self.actor).delete(f"{self.endpoint}{obj.pk}/")
        assert response.status_code == 204
        assert not type(obj).objects.filter(pk=obj.pk).exists()
