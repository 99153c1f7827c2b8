import pytest

from creators.models import Creator, CreditAccount, CreditLedger
from creators.tests.factories import CreatorFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_creator_changelist_filters_and_search(staff_client):
    CreatorFactory(handle="findme", platform="tiktok", verified=True)
    CreatorFactory(handle="other")
    page = staff_client.get("/admin/creators/creator/", {"q": "findme", "platform": "tiktok", "analysed": "no"})
    assert page.status_code == 200
    assert b"findme" in page.content and b">other<" not in page.content


def test_creator_change_page_shows_posts_and_unlocks(staff_client):
    post = PostFactory(caption="inline caption")
    page = staff_client.get(f"/admin/creators/creator/{post.creator_id}/change/")
    assert page.status_code == 200 and b"inline caption" in page.content


def test_reanalyse_action(staff_client):
    creators = CreatorFactory.create_batch(2)
    response = staff_client.post("/admin/creators/creator/", {
        "action": "reanalyse", "_selected_action": [c.pk for c in creators]}, follow=True)
    assert response.status_code == 200
    assert Creator.objects.filter(ai_analyzed_at__isnull=False).count() == 2
    assert b"Analysed 2 creators" in response.content


def test_staff_grant_credits_through_the_ledger(staff_client, staff):
    user = UserFactory()
    response = staff_client.post(
        "/admin/creators/creditledger/add/", {"email": user.email, "delta": 15, "note": "promo"}
    )
    assert response.status_code == 302, response.content[:2000]
    entry = CreditLedger.objects.get(user=user)
    assert (entry.delta, entry.reason, entry.balance_after, entry.actor) == (15, "grant", 15, staff)
    assert CreditAccount.objects.get(user=user).balance == 15
    refused = staff_client.post("/admin/creators/creditledger/add/", {"email": user.email, "delta": -3, "note": ""})
    assert refused.status_code == 200 and CreditLedger.objects.count() == 1
    assert staff_client.get(f"/admin/creators/creditledger/{entry.pk}/change/").status_code == 200


def test_ledger_and_unlocks_pages_load(staff_client):
    for url in ["/admin/creators/creditledger/", "/admin/creators/unlock/", "/admin/creators/creditaccount/"]:
        assert staff_client.get(url).status_code == 200


def test_staff_grant_past_the_balance_column_is_a_form_error(staff_client):
    user = UserFactory()
    staff_client.post("/admin/creators/creditledger/add/", {"email": user.email, "delta": 10, "note": ""})
    response = staff_client.post("/admin/creators/creditledger/add/",
                                 {"email": user.email, "delta": 2**31 - 1, "note": ""})
    assert response.status_code == 200 and b"cannot exceed" in response.content
    assert CreditAccount.objects.get(user=user).balance == 10
