"""Every list endpoint answers the one envelope of docs/api.md: `{count, next, previous, results}`
(cursor pages: the same without `count`), and takes `?page_size=` within its cap."""

import pytest

from creators.tests.factories import CreatorFactory
from flashlearn.pagination import envelope
from messaging.tests.factories import LiveSessionFactory, MembershipFactory, MessageFactory, UserFactory, client_for

pytestmark = pytest.mark.django_db
PAGE = ["count", "next", "previous", "results"]


def test_the_envelope_puts_count_first_and_leaves_it_out_of_cursor_pages():
    assert list(envelope([1], count=3, next_url="n", previous_url=None)) == PAGE
    assert envelope([], next_url=None, previous_url="p") == {"next": None, "previous": "p", "results": []}


def test_sessions_page_within_their_cap():
    user = UserFactory()
    for _ in range(3):
        MembershipFactory(user=user)
    client = client_for(user)
    body = client.get("/api/v1/live_sessions", {"page_size": 2}).json()
    assert list(body) == PAGE and body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert client.get("/api/v1/live_sessions", {"page": 3, "page_size": 2}).status_code == 404


def test_message_history_is_a_cursor_page():
    session = LiveSessionFactory()
    for _ in range(3):
        MessageFactory(session=session)
    body = client_for(session.host).get(f"/api/v1/live_sessions/{session.pk}/messages", {"limit": 2}).json()
    assert list(body) == ["next", "previous", "results"] and len(body["results"]) == 2 and body["previous"]


def test_creator_lists_and_credits_share_the_envelope(settings):
    settings.CREATOR_SEARCH_MAX_PAGE_SIZE = 2
    for _ in range(3):
        CreatorFactory()
    client = client_for(UserFactory())
    search = client.get("/api/v1/simple/creator/search", {"page_size": 50}).json()
    assert list(search) == PAGE and search["count"] == 3 and len(search["results"]) == 2  # capped by the setting
    assert list(client.get("/api/v1/simple/creator/unlocked").json()) == PAGE
    credits = client.get("/api/v1/credits").json()
    assert list(credits) == ["balance", "unlock_price", *PAGE]
