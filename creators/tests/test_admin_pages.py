"""Staff grant credits by email; a creator's page shows posts compactly and the analysis as labelled fields."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from creators import selectors
from creators.models import Creator, CreatorPost, CreditLedger


@pytest.fixture
def member(db):
    return User.objects.create_user(email="grace@example.com", password="grace password 123")


def test_grant_credits_finds_the_user_by_email_and_says_what_happened(staff_client, staff, member):
    changelist = staff_client.get("/admin/creators/creditledger/").content.decode()
    assert "Grant credits" in changelist and "Add credit ledger" not in changelist

    form = staff_client.get("/admin/creators/creditledger/add/").content.decode()
    assert 'name="email"' in form and 'name="user"' not in form

    response = staff_client.post("/admin/creators/creditledger/add/",
                                 {"email": "Grace@Example.com", "delta": "10", "note": ""}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Granted 10 credits to grace@example.com: balance now 10." in html
    entry = CreditLedger.objects.get(user=member)
    assert (entry.delta, entry.reason, entry.actor_id, entry.balance_after) == (10, "grant", staff.pk, 10)
    assert selectors.credit_balance(user=member) == 10


@pytest.mark.parametrize("data, error", [
    ({"email": "nobody@example.com", "delta": "5"}, "No account has this email address."),
    ({"email": "grace@example.com", "delta": "0"}, "Grant a positive number of credits."),
    ({"email": "grace@example.com", "delta": "-3"}, "Grant a positive number of credits."),
])
def test_grant_credits_refuses_unknown_users_and_non_positive_amounts(staff_client, member, data, error):
    response = staff_client.post("/admin/creators/creditledger/add/", {"note": "", **data})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not CreditLedger.objects.exists()


def test_the_grant_form_can_start_from_a_credit_account(staff_client, member):
    from creators import services

    services.credits_grant(user=member, amount=1)
    account_page = staff_client.get(f"/admin/creators/creditaccount/{member.credit_account.pk}/change/")
    link = re.search(r'href="(/admin/creators/creditledger/add/\?email=[^"]+)"', account_page.content.decode())
    form = staff_client.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert 'value="grace@example.com"' in form


def test_creator_page_shows_posts_compactly_and_the_analysis_as_labelled_fields(staff_client):
    from creators.analysis import pipeline

    creator = Creator.objects.create(platform="instagram", handle="glowdaily", followers=1000,
                                     bio="Skincare routines and honest makeup reviews.")
    for i in range(3):
        CreatorPost.objects.create(creator=creator, platform_post_id=f"p{i}", caption="Makeup " * 60, likes=10)
    pipeline.run(force=True, ids=[creator.pk])

    html = staff_client.get(f"/admin/creators/creator/{creator.pk}/change/").content.decode()
    for label in ("Language", "Sentiment", "Category", "Brand safe", "Quality score", "Keywords"):
        assert f'<th scope="row">{label}</th>' in html, label
    assert '"summary"' not in html and "&quot;summary&quot;" not in html  # no raw JSON paragraph
    assert "<textarea" not in html.split('id="posts-group"')[1].split("</fieldset>")[0]  # posts read-only
    assert html.count('title="Makeup Makeup') == 3  # long captions cut, full text on hover
