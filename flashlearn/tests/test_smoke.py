import pytest


@pytest.mark.django_db
def test_healthz_answers_ok_with_and_without_slash(client):
    for url in ("/healthz", "/healthz/"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
