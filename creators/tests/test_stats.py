import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from creators.tests.factories import CreatorFactory, PostFactory

pytestmark = pytest.mark.django_db
STATS = "/api/v1/simple/creator/system/stats"


def make_data(creators: int, analysed: int, posts_per_creator: int = 1, analysed_posts: int = 0):
    made = CreatorFactory.create_batch(creators)
    for creator in made[:analysed]:
        creator.ai_analysis = {"summary": {}}
        creator.ai_analyzed_at = "2025-01-01T00:00:00Z"
        creator.save()
    posts = [PostFactory(creator=c) for c in made for _ in range(posts_per_creator)]
    for post in posts[:analysed_posts]:
        post.ai_analyzed_at = "2025-01-01T00:00:00Z"
        post.save()


def test_stats_numbers_on_a_known_data_set(auth_client):
    make_data(creators=8, analysed=3, posts_per_creator=2, analysed_posts=4)
    body = auth_client.get(STATS).json()
    assert body["profiles"]["total"] == 8
    assert body["profiles"]["with_ai_analysis"] == 3
    assert body["profiles"]["ai_completion_rate"] == "37.5%"
    assert body["posts"]["total"] == 16
    assert body["posts"]["with_ai_analysis"] == 4
    assert body["posts"]["ai_completion_rate"] == "25.0%"
    assert body["system"]["status"] == "ok"
    assert body["system"]["ai_analyzer_version"].startswith("language:")


def test_stats_on_an_empty_database(auth_client):
    body = auth_client.get(STATS + "/").json()
    assert body["profiles"] == {"total": 0, "with_ai_analysis": 0, "with_current_analysis": 0,
                                "ai_completion_rate": "0.0%"}


@pytest.mark.parametrize("size", [2, 40])
def test_stats_query_count_does_not_grow_with_the_data(auth_client, django_assert_num_queries, size):
    make_data(creators=size, analysed=size // 2, posts_per_creator=2)
    auth_client.get("/api/v1/credits")  # warm up the auth path; its queries are not the stats'
    # 1 query authenticates the bearer token's user, 2 aggregate the two tables.
    with django_assert_num_queries(3):
        response = auth_client.get(STATS)
    assert response.json()["profiles"]["total"] == size


def test_stats_are_cached_for_a_few_seconds(auth_client, settings):
    settings.CREATOR_STATS_CACHE_SECONDS = 30
    make_data(creators=2, analysed=0)
    assert auth_client.get(STATS).json()["profiles"]["total"] == 2
    CreatorFactory()
    with CaptureQueriesContext(connection) as queries:
        assert auth_client.get(STATS).json()["profiles"]["total"] == 2  # still the cached answer
    assert not any("creators_creator" in q["sql"] for q in queries.captured_queries)


def test_stats_without_cache_are_fresh(auth_client, settings):
    settings.CREATOR_STATS_CACHE_SECONDS = 0
    make_data(creators=2, analysed=0)
    auth_client.get(STATS)
    CreatorFactory()
    assert auth_client.get(STATS).json()["profiles"]["total"] == 3


def test_stats_need_authentication(api_client):
    assert api_client.get(STATS).status_code == 401


def test_openapi_schema_describes_stats_and_detail_as_served():
    from drf_spectacular.generators import SchemaGenerator

    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    stats = schemas["CreatorSystemStats"]["properties"]
    assert set(stats) == {"profiles", "posts", "system"}
    assert "recent_posts" in schemas["CreatorDetailOutput"]["properties"]
