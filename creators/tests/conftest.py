import pytest

from creators.tests.factories import CreatorFactory
from flashlearn.tests.taskqueue import broker_without_worker  # noqa: F401 (fixture)

SEARCH = "/api/v1/simple/creator/search"


@pytest.fixture
def make_creator(db):
    return CreatorFactory


@pytest.fixture
def search(auth_client):
    def run(expected_status: int = 200, **params):
        response = auth_client.get(SEARCH, params)
        assert response.status_code == expected_status, response.content
        return response.json()

    return run


def handles(body: dict) -> list[str]:
    return [row["handle"] for row in body["results"]]
