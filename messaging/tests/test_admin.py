"""Admin: staff see sessions with counts and members, and every message, soft-deleted ones included."""

import pytest
from django.utils import timezone

from messaging.tests.factories import LiveSessionFactory, MembershipFactory, MessageFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_session_changelist_shows_message_counts(staff_client):
    session = LiveSessionFactory(title="Organic chemistry")
    MessageFactory.create_batch(3, session=session)
    MessageFactory(session=session, deleted_at=timezone.now())
    response = staff_client.get("/admin/messaging/livesession/")
    assert response.status_code == 200
    row = next(r for r in response.context["cl"].result_list if r.pk == session.pk)
    assert row._message_count == 3 and row._member_count == 1
    assert b"Organic chemistry" in response.content


def test_session_change_page_has_members_inline(staff_client):
    session = LiveSessionFactory()
    member = MembershipFactory(session=session).user
    response = staff_client.get(f"/admin/messaging/livesession/{session.pk}/change/")
    assert response.status_code == 200
    assert member.email.encode() in response.content


def test_session_change_page_shows_its_captions(staff_client):
    from transcription.models import TranscriptSegment

    session = LiveSessionFactory()
    TranscriptSegment.objects.create(stream=f"live-session-{session.pk}", speaker=session.host,
                                     text="Covalent bonds share electrons", start=0.0, end=2.5)
    TranscriptSegment.objects.create(stream="live-session-999999", text="another session", start=0.0, end=1.0)
    response = staff_client.get(f"/admin/messaging/livesession/{session.pk}/change/")
    assert response.status_code == 200
    assert b"Covalent bonds share electrons" in response.content
    assert b"another session" not in response.content


def test_messages_searchable_by_text_and_author_including_deleted(staff_client):
    author = UserFactory(email="searchme@example.com")
    session = LiveSessionFactory()
    MembershipFactory(session=session, user=author)
    gone = MessageFactory(session=session, author=author, body="removed remark", deleted_at=timezone.now())
    MessageFactory(session=session, body="unrelated")
    by_text = staff_client.get("/admin/messaging/message/", {"q": "removed"})
    assert [m.pk for m in by_text.context["cl"].result_list] == [gone.pk]
    by_author = staff_client.get("/admin/messaging/message/", {"q": "searchme"})
    assert [m.pk for m in by_author.context["cl"].result_list] == [gone.pk]
    deleted_only = staff_client.get("/admin/messaging/message/", {"deleted": "yes"})
    assert [m.pk for m in deleted_only.context["cl"].result_list] == [gone.pk]


def test_non_staff_cannot_open_admin(client):
    client.force_login(UserFactory())
    assert client.get("/admin/messaging/message/").status_code == 302
