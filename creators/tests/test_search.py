import pytest

from creators.models import Unlock
from creators.serializers import PRIVATE_FIELDS, PUBLIC_FIELDS
from creators.tests.conftest import SEARCH, handles
from creators.tests.factories import CreatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(db):
    return {
        "yogi": CreatorFactory(handle="yogi_anna", display_name="Anna Flow", bio="Morning yoga and running plans",
                               category="fitness", platform="instagram", country="US", language="en",
                               followers=50_000, engagement_rate=3.5, verified=True),
        "chef": CreatorFactory(handle="chef_marco", display_name="Marco Rossi", bio="Pasta recipes from Rome",
                               category="food", platform="tiktok", country="IT", language="it",
                               followers=900_000, engagement_rate=1.2),
        "gamer": CreatorFactory(handle="pixel_kim", display_name="Kim Plays", bio="Speedruns and retro gaming",
                                category="gaming", platform="youtube", country="KR", language="ko",
                                followers=5_000, engagement_rate=7.9),
        "runner": CreatorFactory(handle="run_with_sam", display_name="Sam Miles",
                                 bio="Marathon running, yoga on sundays",
                                 category="fitness", platform="tiktok", country="GB", language="en",
                                 followers=120_000, engagement_rate=2.1),
    }


def test_lists_everything_by_followers_without_query(search, catalogue):
    body = search()
    assert handles(body) == ["chef_marco", "run_with_sam", "yogi_anna", "pixel_kim"]
    assert set(body) >= {"results", "next", "previous", "count"}
    assert body["next"] is None and body["previous"] is None


def test_text_search_matches_bio_and_needs_every_term(search, catalogue):
    assert set(handles(search(q="yoga"))) == {"yogi_anna", "run_with_sam"}
    assert handles(search(q="yoga marathon")) == ["run_with_sam"]
    assert handles(search(q="pasta")) == ["chef_marco"]
    assert handles(search(q="zzzqqq")) == []


def test_text_search_matches_handle_name_and_category(search, catalogue):
    assert handles(search(q="@pixel_kim"))[0] == "pixel_kim"
    assert handles(search(q="Marco Rossi")) == ["chef_marco"]
    assert set(handles(search(q="gaming"))) == {"pixel_kim"}


def test_relevance_puts_the_handle_match_first(search, catalogue):
    CreatorFactory(handle="someone_else", bio="I admire yogi_anna a lot", followers=10_000_000)
    assert handles(search(q="yogi_anna"))[0] == "yogi_anna"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"platform": "tiktok"}, {"chef_marco", "run_with_sam"}),
        ({"category": "fitness"}, {"yogi_anna", "run_with_sam"}),
        ({"category": "FITNESS"}, {"yogi_anna", "run_with_sam"}),
        ({"country": "it"}, {"chef_marco"}),
        ({"language": "en"}, {"yogi_anna", "run_with_sam"}),
        ({"min_followers": 100_000}, {"chef_marco", "run_with_sam"}),
        ({"max_followers": 50_000}, {"yogi_anna", "pixel_kim"}),
        ({"min_followers": 10_000, "max_followers": 200_000}, {"yogi_anna", "run_with_sam"}),
        ({"min_engagement": 3.5}, {"yogi_anna", "pixel_kim"}),
        ({"max_engagement": 2}, {"chef_marco"}),
        ({"verified": "true"}, {"yogi_anna"}),
        ({"verified": "false"}, {"chef_marco", "pixel_kim", "run_with_sam"}),
        ({"platform": "tiktok", "category": "fitness"}, {"run_with_sam"}),
        ({"q": "running", "country": "GB"}, {"run_with_sam"}),
    ],
)
def test_filters(search, catalogue, params, expected):
    assert set(handles(search(**params))) == expected


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("-followers", ["chef_marco", "run_with_sam", "yogi_anna", "pixel_kim"]),
        ("followers", ["pixel_kim", "yogi_anna", "run_with_sam", "chef_marco"]),
        ("-engagement", ["pixel_kim", "yogi_anna", "run_with_sam", "chef_marco"]),
        ("engagement", ["chef_marco", "run_with_sam", "yogi_anna", "pixel_kim"]),
        ("relevance", ["chef_marco", "run_with_sam", "yogi_anna", "pixel_kim"]),  # no q: by followers
    ],
)
def test_ordering(search, catalogue, ordering, expected):
    assert handles(search(ordering=ordering)) == expected


def test_ordering_by_followers_applies_to_text_results(search, catalogue):
    assert handles(search(q="yoga", ordering="followers")) == ["yogi_anna", "run_with_sam"]
    assert handles(search(q="yoga", ordering="-followers")) == ["run_with_sam", "yogi_anna"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_followers": "lots"}, "min_followers"),
        ({"min_followers": "-1"}, "min_followers"),
        ({"max_followers": "1.5"}, "max_followers"),
        ({"min_followers": "10", "max_followers": "5"}, "max_followers"),
        ({"min_engagement": "high"}, "min_engagement"),
        ({"min_engagement": "101"}, "min_engagement"),
        ({"min_engagement": "nan"}, "min_engagement"),
        ({"max_engagement": "NaN"}, "max_engagement"),
        ({"min_engagement": "5", "max_engagement": "1"}, "max_engagement"),
        ({"platform": "myspace"}, "platform"),
        ({"country": "USA"}, "country"),
        ({"language": "english!"}, "language"),
        ({"category": "x" * 60}, "category"),
        ({"ordering": "name"}, "ordering"),
        ({"verified": "maybe"}, "verified"),
        ({"page": "0"}, "page"),
        ({"page_size": "abc"}, "page_size"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_invalid_parameters_are_400_naming_the_parameter(search, catalogue, params, field):
    body = search(400, **params)
    assert body["error"]["code"] == "validation_error"
    assert list(body["error"]["fields"]) == [field]


def test_pagination(search, db):
    for n in range(5):
        CreatorFactory(handle=f"page{n}", followers=1_000 - n)
    first = search(page_size=2)
    assert handles(first) == ["page0", "page1"]
    assert first["count"] == 5 and first["previous"] is None and "page=2" in first["next"]
    last = search(page_size=2, page=3)
    assert handles(last) == ["page4"] and last["next"] is None and last["previous"]
    beyond = search(404, page_size=2, page=9)
    assert beyond["error"]["code"] == "not_found"


def test_page_size_is_capped(search, db, settings):
    settings.CREATOR_SEARCH_MAX_PAGE_SIZE = 3
    CreatorFactory.create_batch(5)
    assert len(search(page_size=50)["results"]) == 3


def test_locked_creators_show_public_fields_only(search, catalogue):
    row = search(q="pasta")["results"][0]
    assert row["unlocked"] is False and row["unlocked_at"] is None
    assert set(PUBLIC_FIELDS) <= set(row)
    assert not set(PRIVATE_FIELDS) & set(row)


def test_unlocked_creators_show_contact_and_analysis(search, catalogue, user):
    chef = catalogue["chef"]
    chef.ai_analysis = {"summary": {"quality_score": 70}}
    chef.save()
    Unlock.objects.create(user=user, creator=chef, credits_spent=1)
    rows = {r["handle"]: r for r in search()["results"]}
    assert rows["chef_marco"]["unlocked"] is True
    assert rows["chef_marco"]["contact_email"] == chef.contact_email
    assert rows["chef_marco"]["ai_analysis"] == {"summary": {"quality_score": 70}}
    assert "contact_email" not in rows["pixel_kim"]


def test_another_users_unlock_does_not_unlock_for_me(search, catalogue, django_user_model):
    other = django_user_model.objects.create_user(email="other@example.com", password="x-y-z-123")
    Unlock.objects.create(user=other, creator=catalogue["chef"], credits_spent=1)
    row = search(q="pasta")["results"][0]
    assert row["unlocked"] is False and "contact_email" not in row


def test_search_needs_authentication(api_client, catalogue):
    response = api_client.get(SEARCH)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_trailing_slash_answers_without_redirect(auth_client, catalogue):
    assert auth_client.get(SEARCH + "/").status_code == 200


@pytest.mark.postgres
def test_stored_search_document_matches_the_documented_expression(db):
    from django.db import connection

    from creators.models import SEARCH_DOCUMENT_SQL

    creator = CreatorFactory(handle="doc_check", display_name="Doc Check", category="food", bio="Pasta al forno")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT search_document = ({SEARCH_DOCUMENT_SQL}), search_document::text FROM creators_creator "
            "WHERE id = %s", [creator.pk])
        same, document = cursor.fetchone()
    assert same is True
    assert "'pasta':" in document and "'doc':" in document


@pytest.mark.parametrize("q", ["___", "日本語", "' OR 1=1 --", "a & b | !c", "fit:*", "@", "   "])
def test_odd_queries_are_answered_not_500(search, catalogue, q):
    body = search(q=q)
    assert isinstance(body["results"], list)


def test_prefix_of_a_word_matches(search, catalogue):
    assert handles(search(q="marath")) == ["run_with_sam"]


@pytest.mark.parametrize("size", [3, 30])
def test_search_query_count_does_not_grow_with_the_page(auth_client, user, django_assert_num_queries, size):
    creators = CreatorFactory.create_batch(size, bio="yoga every day")
    for creator in creators[::2]:
        Unlock.objects.create(user=user, creator=creator, credits_spent=1)
    # The bearer token's user, COUNT for pagination, the page with unlock state annotated.
    with django_assert_num_queries(3):
        body = auth_client.get(SEARCH, {"q": "yoga", "page_size": 50}).json()
    assert len(body["results"]) == size
    with django_assert_num_queries(3):
        assert len(auth_client.get("/api/v1/simple/creator/unlocked", {"page_size": 50}).json()["results"]) == \
            len(creators[::2])


@pytest.mark.parametrize("path", [SEARCH, "/api/v1/simple/creator/unlocked", "/api/v1/credits"])
def test_list_endpoints_use_a_constant_number_of_queries(auth_client, user, path, django_assert_max_num_queries):
    from creators import services

    services.credits_grant(user=user, amount=30)
    for creator in CreatorFactory.create_batch(25):
        services.creator_unlock(user=user, creator_id=creator.pk)
    # The bearer user lookup, the count, the page (and the balance): no query per row.
    with django_assert_max_num_queries(4):
        body = auth_client.get(path, {"page_size": 25}).json()
    assert len(body["results"]) == 25
