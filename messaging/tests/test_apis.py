"""REST routes: permissions for host, member, author and outsider; pagination; unread counts; aliases."""

import pytest

from messaging.models import LiveSession, Membership, Message
from messaging.tests.factories import LiveSessionFactory, MembershipFactory, MessageFactory, UserFactory, client_for

pytestmark = pytest.mark.django_db

API = "/api/v1"


def test_create_session_makes_caller_host(cast):
    response = cast.client(cast.outsider).post(f"{API}/live_sessions", {"title": "Biology"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "Biology" and body["status"] == "scheduled" and body["my_role"] == "host"
    assert Membership.objects.get(session_id=body["id"], user=cast.outsider).role == "host"


def test_create_session_validates(cast):
    response = cast.client(cast.member).post(f"{API}/live_sessions", {"title": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "title" in response.json()["error"]["fields"]


def test_unauthenticated_is_401(db, api_client):
    response = api_client.get(f"{API}/live_sessions")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_list_shows_only_my_sessions_with_unread_counts(cast):
    other = LiveSessionFactory()
    MessageFactory(session=cast.session, author=cast.host)
    MessageFactory(session=cast.session, author=cast.host)
    MessageFactory(session=cast.session, author=cast.member)  # own messages are never unread
    MessageFactory(session=other)
    body = cast.client(cast.member).get(f"{API}/live_sessions").json()
    assert [s["id"] for s in body["results"]] == [cast.session.pk]
    assert body["results"][0]["unread_count"] == 2
    assert body["results"][0]["my_role"] == "participant"
    assert body["results"][0]["member_count"] == 2
    assert "next" in body and "previous" in body


@pytest.mark.parametrize("path", ["/live_sessions", "/live_sessions/", f"{API}/live_sessions/"])
def test_aliases_and_trailing_slash_answer_without_redirect(cast, path):
    response = cast.client(cast.member).get(path)
    assert response.status_code == 200
    assert response.json()["results"][0]["id"] == cast.session.pk


def test_detail_member_sees_outsider_gets_404(cast):
    url = f"{API}/live_sessions/{cast.session.pk}"
    assert cast.client(cast.member).get(url).status_code == 200
    missing = cast.client(cast.outsider).get(url)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert cast.client(cast.outsider).get(f"{API}/live_sessions/999999").json() == missing.json()


def test_patch_host_only(cast):
    url = f"{API}/live_sessions/{cast.session.pk}"
    assert cast.client(cast.member).patch(url, {"title": "x"}, format="json").status_code == 403
    assert cast.client(cast.outsider).patch(url, {"title": "x"}, format="json").status_code == 404
    response = cast.client(cast.host).patch(url, {"title": "Renamed"}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "Renamed"
    cast.session.refresh_from_db()
    assert cast.session.title == "Renamed"


def test_delete_host_only(cast):
    url = f"{API}/live_sessions/{cast.session.pk}"
    assert cast.client(cast.member).delete(url).status_code == 403
    assert cast.client(cast.outsider).delete(url).status_code == 404
    assert LiveSession.objects.filter(pk=cast.session.pk).exists()
    assert cast.client(cast.host).delete(url).status_code == 204
    assert not LiveSession.objects.filter(pk=cast.session.pk).exists()


def test_lifecycle_start_end_host_only(cast):
    base = f"{API}/live_sessions/{cast.session.pk}"
    assert cast.client(cast.member).post(f"{base}/start").status_code == 403
    assert cast.client(cast.outsider).post(f"{base}/start").status_code == 404
    started = cast.client(cast.host).post(f"{base}/start")
    assert started.status_code == 200 and started.json()["status"] == "live" and started.json()["started_at"]
    again = cast.client(cast.host).post(f"{base}/start")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    assert cast.client(cast.member).post(f"{base}/end").status_code == 403
    ended = cast.client(cast.host).post(f"{base}/end")
    assert ended.status_code == 200 and ended.json()["status"] == "ended" and ended.json()["ended_at"]
    assert cast.client(cast.host).post(f"{base}/end").status_code == 409


def test_join_and_leave(cast):
    cast.session.visibility = LiveSession.Visibility.PUBLIC
    cast.session.save()
    base = f"{API}/live_sessions/{cast.session.pk}"
    client = cast.client(cast.outsider)
    joined = client.post(f"{base}/join")
    assert joined.status_code == 201 and joined.json()["my_role"] == "participant"
    assert client.post(f"{base}/join").status_code == 200  # idempotent
    assert Membership.objects.filter(session=cast.session, user=cast.outsider).count() == 1
    assert client.get(base).status_code == 200
    assert client.post(f"{base}/leave").status_code == 204
    assert client.get(base).status_code == 404
    assert client.post(f"{base}/leave").status_code == 404


def test_host_cannot_leave(cast):
    response = cast.client(cast.host).post(f"{API}/live_sessions/{cast.session.pk}/leave")
    assert response.status_code == 409 and response.json()["error"]["code"] == "host_cannot_leave"


def test_join_ended_or_missing_session(cast):
    cast.session.status = LiveSession.Status.ENDED
    cast.session.save()
    url = f"{API}/live_sessions/{cast.session.pk}/join"
    # Without the code an ended private session is as unknown as any other id.
    assert cast.client(cast.outsider).post(url).status_code == 404
    response = cast.client(cast.outsider).post(url, {"invite_code": cast.session.invite_code}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "session_ended"
    assert cast.client(cast.outsider).post(f"{API}/live_sessions/987654/join").status_code == 404


def test_post_message_member_and_alias(cast):
    response = cast.client(cast.member).post("/messages", {"session": cast.session.pk, "body": " hi "}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["body"] == "hi" and body["author"]["id"] == cast.member.pk and body["session"] == cast.session.pk
    assert body["deleted"] is False and body["created_at"]


def test_post_message_outsider_404_nothing_stored(cast):
    response = cast.client(cast.outsider).post(
        f"{API}/messages", {"session": cast.session.pk, "body": "hi"}, format="json"
    )
    assert response.status_code == 404
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "payload, field",
    [({"session": None, "body": "x"}, "session"), ({"session": "abc", "body": "x"}, "session"), ({"body": ""}, "body"),
     ({"body": "x" * 4001}, "body"), ({"body": "x", "client_id": "c" * 65}, "client_id")],
)
def test_post_message_validation(cast, payload, field):
    payload = {k: v for k, v in {"session": cast.session.pk, **payload}.items() if v is not None}
    response = cast.client(cast.member).post(f"{API}/messages", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Message.objects.exists()


def test_post_message_malformed_json_is_400(cast):
    response = cast.client(cast.member).post(f"{API}/messages", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_same_client_id_returns_first_message(cast):
    client = cast.client(cast.member)
    payload = {"session": cast.session.pk, "body": "once", "client_id": "abc-1"}
    first = client.post(f"{API}/messages", payload, format="json")
    second = client.post(f"{API}/messages", {**payload, "body": "twice"}, format="json")
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"] and second.json()["body"] == "once"
    assert Message.objects.count() == 1


def test_post_to_ended_session_is_409(cast):
    cast.session.status = LiveSession.Status.ENDED
    cast.session.save()
    payload = {"session": cast.session.pk, "body": "x"}
    response = cast.client(cast.member).post(f"{API}/messages", payload, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "session_ended"


def test_edit_message_author_only(cast):
    message = MessageFactory(session=cast.session, author=cast.member, body="old")
    url = f"{API}/messages/{message.pk}"
    assert cast.client(cast.host).patch(url, {"body": "new"}, format="json").status_code == 403
    assert cast.client(cast.outsider).patch(url, {"body": "new"}, format="json").status_code == 404
    response = cast.client(cast.member).patch(url, {"body": "new"}, format="json")
    assert response.status_code == 200 and response.json()["body"] == "new" and response.json()["edited_at"]
    assert cast.client(cast.member).patch(url, {"body": ""}, format="json").status_code == 400
    message.refresh_from_db()
    assert message.body == "new"


def test_delete_message_soft_author_only(cast):
    message = MessageFactory(session=cast.session, author=cast.member, body="secret")
    url = f"{API}/messages/{message.pk}"
    assert cast.client(cast.host).delete(url).status_code == 403
    assert cast.client(cast.outsider).delete(url).status_code == 404
    assert cast.client(cast.member).delete(url).status_code == 204
    message.refresh_from_db()
    assert message.deleted_at is not None and message.body == "secret"  # kept for staff
    history = cast.client(cast.host).get(f"{API}/live_sessions/{cast.session.pk}/messages").json()["results"]
    assert history[0]["deleted"] is True and history[0]["body"] == ""
    assert cast.client(cast.member).patch(url, {"body": "again"}, format="json").status_code == 404
    assert cast.client(cast.member).delete(url).status_code == 404


def test_get_message_member_only(cast):
    message = MessageFactory(session=cast.session, author=cast.host)
    assert cast.client(cast.member).get(f"{API}/messages/{message.pk}").status_code == 200
    assert cast.client(cast.outsider).get(f"{API}/messages/{message.pk}").status_code == 404


def test_history_outsider_404(cast):
    response = cast.client(cast.outsider).get(f"{API}/live_sessions/{cast.session.pk}/messages")
    assert response.status_code == 404


class TestHistoryPagination:
    @pytest.fixture
    def ids(self, cast):
        return [MessageFactory(session=cast.session, author=cast.host).pk for _ in range(7)]

    def get(self, cast, query=""):
        response = cast.client(cast.member).get(f"{API}/live_sessions/{cast.session.pk}/messages{query}")
        assert response.status_code == 200, response.content
        return response.json()

    def test_default_is_newest_page_oldest_first(self, cast, ids):
        body = self.get(cast, "?limit=3")
        assert [m["id"] for m in body["results"]] == ids[-3:]
        assert body["next"] is None
        assert f"before={ids[-3]}" in body["previous"]

    def test_walk_backwards_then_forwards_without_gap(self, cast, ids):
        seen, url = [], "?limit=3"
        while url:
            body = self.get(cast, url)
            seen = [m["id"] for m in body["results"]] + seen
            url = body["previous"] and "?" + body["previous"].split("?", 1)[1]
        assert seen == ids
        forward, url = [], "?after=0&limit=2"
        while url:
            body = self.get(cast, url)
            forward += [m["id"] for m in body["results"]]
            url = body["next"] and "?" + body["next"].split("?", 1)[1]
        assert forward == ids

    def test_after_and_before_edges(self, cast, ids):
        assert [m["id"] for m in self.get(cast, f"?after={ids[-1]}")["results"]] == []
        assert [m["id"] for m in self.get(cast, f"?before={ids[0]}")["results"]] == []
        body = self.get(cast, f"?after={ids[1]}&before={ids[4]}")
        assert [m["id"] for m in body["results"]] == ids[2:4]
        assert body["next"] is None or f"after={ids[3]}" in body["next"]
        assert f"before={ids[2]}" in body["previous"]

    def test_limit_is_capped(self, cast, ids, settings):
        settings.MESSAGING_HISTORY_MAX_PAGE_SIZE = 4
        assert len(self.get(cast, "?limit=1000")["results"]) == 4

    @pytest.mark.parametrize("query", ["?limit=0", "?limit=abc", "?after=-1", "?before=x"])
    def test_bad_cursor_is_400(self, cast, ids, query):
        response = cast.client(cast.member).get(f"{API}/live_sessions/{cast.session.pk}/messages{query}")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"


def test_read_marker_drops_unread_count(cast):
    ids = [MessageFactory(session=cast.session, author=cast.host).pk for _ in range(3)]
    client = cast.client(cast.member)
    url = f"{API}/live_sessions/{cast.session.pk}/read"
    assert client.get(f"{API}/live_sessions/{cast.session.pk}").json()["unread_count"] == 3
    response = client.post(url, {"message_id": ids[1]}, format="json")
    assert response.status_code == 200 and response.json() == {"message_id": ids[1], "unread_count": 1}
    # An older receipt arriving late does not move the marker back.
    assert client.post(url, {"message_id": ids[0]}, format="json").json() == {"message_id": ids[1], "unread_count": 1}
    assert client.get(f"{API}/live_sessions/{cast.session.pk}").json()["unread_count"] == 1


def test_read_marker_validation_and_permissions(cast):
    other = MessageFactory()  # in another session
    url = f"{API}/live_sessions/{cast.session.pk}/read"
    assert cast.client(cast.member).post(url, {"message_id": other.pk}, format="json").status_code == 400
    assert cast.client(cast.member).post(url, {"message_id": "x"}, format="json").status_code == 400
    mine = MessageFactory(session=cast.session)
    assert cast.client(cast.outsider).post(url, {"message_id": mine.pk}, format="json").status_code == 404


def test_session_role_selector(cast):
    from messaging.selectors import session_role

    assert session_role(user=cast.host, session_id=cast.session.pk) == "host"
    assert session_role(user=cast.member, session_id=cast.session.pk) == "participant"
    assert session_role(user=cast.outsider, session_id=cast.session.pk) is None
    assert session_role(user=cast.host, session_id=424242) is None


def test_users_see_distinct_unread_counts(cast):
    third = UserFactory()
    joined = client_for(third).post(
        f"{API}/live_sessions/{cast.session.pk}/join", {"invite_code": cast.session.invite_code}, format="json"
    )
    assert joined.status_code == 201
    MessageFactory(session=cast.session, author=third)
    assert cast.client(cast.member).get(f"{API}/live_sessions").json()["results"][0]["unread_count"] == 1
    assert client_for(third).get(f"{API}/live_sessions").json()["results"][0]["unread_count"] == 0


@pytest.mark.parametrize("huge", [2**63, 10**30])
def test_ids_too_large_for_the_database_are_404_not_500(cast, huge):
    client = cast.client(cast.member)
    for method, url, body in [
        ("get", f"{API}/live_sessions/{huge}", None),
        ("post", f"{API}/live_sessions/{huge}/join", None),
        ("get", f"{API}/live_sessions/{huge}/messages", None),
        ("post", f"{API}/live_sessions/{huge}/read", {"message_id": 1}),
        ("post", f"{API}/messages", {"session": huge, "body": "hi"}),
        ("patch", f"{API}/messages/{huge}", {"body": "hi"}),
    ]:
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 404, (url, response.content)
    from messaging.selectors import session_role

    assert session_role(user=cast.member, session_id=huge) is None


def test_lists_do_not_query_per_row(cast, django_assert_max_num_queries):
    for _ in range(5):
        session = LiveSessionFactory(host=UserFactory())
        MembershipFactory(session=session, user=cast.member)
        MessageFactory(session=session)
    for _ in range(8):
        MessageFactory(session=cast.session, author=UserFactory())
    client = cast.client(cast.member)
    with django_assert_max_num_queries(4):
        assert len(client.get(f"{API}/live_sessions").json()["results"]) == 6
    with django_assert_max_num_queries(4):
        assert len(client.get(f"{API}/live_sessions/{cast.session.pk}/messages").json()["results"]) == 8


# --- Visibility and invite codes -----------------------------------------------------------


def _join(user, session_id, **body):
    return client_for(user).post(f"{API}/live_sessions/{session_id}/join", body or None, format="json")


def test_private_join_without_or_with_wrong_code_is_the_same_404_as_a_missing_id(cast):
    assert cast.session.visibility == LiveSession.Visibility.PRIVATE  # the default
    missing = _join(cast.outsider, 987654)
    assert missing.status_code == 404
    for body in [{}, {"invite_code": ""}, {"invite_code": "wrong"}, {"invite_code": cast.session.invite_code[:-1]},
                 {"invite_code": cast.session.invite_code + "x"}]:
        response = _join(cast.outsider, cast.session.pk, **body)
        assert response.status_code == 404 and response.json() == missing.json(), body
    # A valid code of another session opens only that one.
    other = LiveSessionFactory()
    assert _join(cast.outsider, cast.session.pk, invite_code=other.invite_code).json() == missing.json()
    assert not Membership.objects.filter(user=cast.outsider).exists()


def test_private_join_with_the_code(cast):
    response = _join(cast.outsider, cast.session.pk, invite_code=cast.session.invite_code)
    assert response.status_code == 201 and response.json()["my_role"] == "participant"
    assert Membership.objects.filter(session=cast.session, user=cast.outsider).count() == 1
    assert _join(cast.outsider, cast.session.pk).status_code == 200  # a member needs no code again
    assert "invite_code" not in response.json()


def test_public_join_by_id(cast):
    session = LiveSessionFactory(visibility=LiveSession.Visibility.PUBLIC)
    response = _join(cast.outsider, session.pk)
    assert response.status_code == 201 and response.json()["visibility"] == "public"
    assert _join(cast.outsider, session.pk, invite_code="ignored").status_code == 200


def test_host_sees_the_code_members_see_only_visibility(cast):
    url = f"{API}/live_sessions/{cast.session.pk}"
    host_view = cast.client(cast.host).get(url).json()
    assert host_view["visibility"] == "private" and host_view["invite_code"] == cast.session.invite_code
    member_view = cast.client(cast.member).get(url).json()
    assert member_view["visibility"] == "private" and "invite_code" not in member_view
    host_list = cast.client(cast.host).get(f"{API}/live_sessions").json()["results"]
    assert host_list[0]["invite_code"] == cast.session.invite_code
    assert all("invite_code" not in s for s in cast.client(cast.member).get(f"{API}/live_sessions").json()["results"])


def test_create_with_visibility_and_code(cast):
    client = cast.client(cast.outsider)
    private = client.post(f"{API}/live_sessions", {"title": "Default"}, format="json").json()
    public = client.post(f"{API}/live_sessions", {"title": "Open", "visibility": "public"}, format="json").json()
    assert private["visibility"] == "private" and public["visibility"] == "public"
    assert len(private["invite_code"]) >= 22 and private["invite_code"] != public["invite_code"]
    bad = client.post(f"{API}/live_sessions", {"title": "x", "visibility": "secret"}, format="json")
    assert bad.status_code == 400 and "visibility" in bad.json()["error"]["fields"]


def test_invite_codes_are_random_and_unique(db):
    codes = {LiveSessionFactory().invite_code for _ in range(20)}
    assert len(codes) == 20 and all(len(code) >= 22 for code in codes)  # 22 URL-safe chars = 128 bits


def test_rotate_invalidates_the_old_code(cast):
    old = cast.session.invite_code
    for prefix in [API, ""]:  # canonical and alias
        response = cast.client(cast.host).post(f"{prefix}/live_sessions/{cast.session.pk}/invite/rotate")
        assert response.status_code == 200, response.content
        new = response.json()["invite_code"]
        assert new != old
        old = new
    assert _join(cast.outsider, cast.session.pk, invite_code=cast.session.invite_code).status_code == 404
    assert _join(cast.outsider, cast.session.pk, invite_code=old).status_code == 201
    assert cast.client(cast.member).get(f"{API}/live_sessions/{cast.session.pk}").status_code == 200  # still a member


def test_rotate_host_only(cast):
    url = f"{API}/live_sessions/{cast.session.pk}/invite/rotate"
    before = cast.session.invite_code
    assert cast.client(cast.member).post(url).status_code == 403
    assert cast.client(cast.outsider).post(url).status_code == 404
    assert cast.client(cast.outsider).post(f"{API}/live_sessions/987654/invite/rotate").status_code == 404
    cast.session.refresh_from_db()
    assert cast.session.invite_code == before


def test_patch_visibility_host_only(cast):
    url = f"{API}/live_sessions/{cast.session.pk}"
    assert cast.client(cast.member).patch(url, {"visibility": "public"}, format="json").status_code == 403
    assert cast.client(cast.outsider).patch(url, {"visibility": "public"}, format="json").status_code == 404
    cast.session.refresh_from_db()
    assert cast.session.visibility == "private"
    response = cast.client(cast.host).patch(url, {"visibility": "public"}, format="json")
    assert response.status_code == 200 and response.json()["visibility"] == "public"
    assert _join(cast.outsider, cast.session.pk).status_code == 201
    cast.client(cast.host).patch(url, {"visibility": "private"}, format="json")
    assert _join(UserFactory(), cast.session.pk).status_code == 404


def test_session_broadcast_never_carries_the_code(cast, memory_layers):
    from messaging.events import session_payload

    assert session_payload(cast.session)["visibility"] == "private"
    assert "invite_code" not in session_payload(cast.session)


def test_other_members_never_see_an_email_or_anothers_client_id(cast):
    """Issue 10 item 19: no display name → "Member <id>", never the email's local part; `client_id` is the
    author's own idempotency key, shown to the author only (REST history and detail, like the websocket)."""
    nameless = UserFactory(email="jane.doe.private@example.com", display_name="")
    MembershipFactory(session=cast.session, user=nameless)
    sent = cast.client(nameless).post("/api/v1/messages", {"session": cast.session.pk, "body": "hi", "client_id": "k1"},
                                      format="json")
    assert sent.status_code == 201 and sent.json()["client_id"] == "k1" and sent.json()["seq"] == 1
    seen = cast.client(cast.member).get(f"/api/v1/live_sessions/{cast.session.pk}/messages").json()["results"]
    assert seen[0]["author"]["display_name"] == f"Member {nameless.pk}" and "jane" not in str(seen)
    assert seen[0]["client_id"] is None
    detail = cast.client(cast.member).get(f"/api/v1/messages/{seen[0]['id']}").json()
    assert detail["client_id"] is None
    own = cast.client(nameless).get(f"/api/v1/live_sessions/{cast.session.pk}/messages").json()["results"]
    assert own[0]["client_id"] == "k1"


def test_history_after_seq_fills_a_gap(cast):
    client = cast.client(cast.host)
    for i in range(5):
        client.post("/api/v1/messages", {"session": cast.session.pk, "body": f"m{i}"}, format="json")
    page = client.get(f"/api/v1/live_sessions/{cast.session.pk}/messages?after_seq=2&limit=2").json()
    assert [m["seq"] for m in page["results"]] == [3, 4]
    assert "after_seq=4" in page["next"]
    rest = client.get(page["next"]).json()
    assert [m["seq"] for m in rest["results"]] == [5] and rest["next"] is None
    assert client.get(f"/api/v1/live_sessions/{cast.session.pk}/messages?after_seq=-1").status_code == 400


def test_seq_survives_a_stale_full_save_of_the_session(cast):
    """The admin form saves a session loaded before messages arrived: the counter must not go back."""
    from messaging.models import LiveSession

    stale = LiveSession.objects.get(pk=cast.session.pk)
    client = cast.client(cast.host)
    client.post("/api/v1/messages", {"session": cast.session.pk, "body": "one"}, format="json")
    stale.title = "renamed"
    stale.save()
    second = client.post("/api/v1/messages", {"session": cast.session.pk, "body": "two"}, format="json")
    assert second.status_code == 201 and second.json()["seq"] == 2
