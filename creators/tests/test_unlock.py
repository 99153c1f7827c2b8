
import pytest

from accounts.tests.races import errors_of, run_together
from creators import services
from creators.errors import InsufficientCredits
from creators.models import CreditAccount, CreditLedger, Unlock
from creators.tests.factories import CreatorFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def unlock_url(creator_id: int) -> str:
    return f"/api/v1/simple/creator/{creator_id}/unlock"


def balance(user) -> int:
    return CreditAccount.objects.get(user=user).balance


def test_unlock_charges_the_price_and_reveals_contact(auth_client, user, settings):
    settings.CREATOR_UNLOCK_PRICE = 3
    services.credits_grant(user=user, amount=10)
    creator = CreatorFactory()
    response = auth_client.post(unlock_url(creator.pk))
    assert response.status_code == 201
    body = response.json()
    assert body["charged"] is True and body["credits_spent"] == 3 and body["balance"] == 7
    assert body["creator"]["unlocked"] is True and body["creator"]["contact_email"] == creator.contact_email
    assert balance(user) == 7
    entry = CreditLedger.objects.filter(user=user).latest("id")
    assert (entry.delta, entry.reason, entry.balance_after, entry.creator_id) == (-3, "unlock", 7, creator.pk)


def test_unlock_twice_charges_once(auth_client, user):
    services.credits_grant(user=user, amount=5)
    creator = CreatorFactory()
    assert auth_client.post(unlock_url(creator.pk)).status_code == 201
    again = auth_client.post(unlock_url(creator.pk) + "/")
    assert again.status_code == 200
    assert again.json()["charged"] is False and again.json()["balance"] == 4
    assert balance(user) == 4
    assert Unlock.objects.filter(user=user).count() == 1
    assert CreditLedger.objects.filter(user=user, reason="unlock").count() == 1


def test_unlock_without_credits_is_402_and_changes_nothing(auth_client, user):
    creator = CreatorFactory()
    response = auth_client.post(unlock_url(creator.pk))
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert not Unlock.objects.exists()
    assert not CreditLedger.objects.exists()
    assert CreditAccount.objects.filter(user=user, balance__gt=0).count() == 0


def test_unlock_with_too_few_credits_is_402_and_keeps_the_balance(auth_client, user, settings):
    settings.CREATOR_UNLOCK_PRICE = 5
    services.credits_grant(user=user, amount=4)
    response = auth_client.post(unlock_url(CreatorFactory().pk))
    assert response.status_code == 402
    assert balance(user) == 4
    assert not Unlock.objects.exists()
    assert list(CreditLedger.objects.values_list("reason", flat=True)) == ["grant"]


def test_free_unlock_when_price_is_zero(auth_client, user, settings):
    settings.CREATOR_UNLOCK_PRICE = 0
    response = auth_client.post(unlock_url(CreatorFactory().pk))
    assert response.status_code == 200 and response.json()["charged"] is False
    assert Unlock.objects.filter(user=user, credits_spent=0).count() == 1
    assert not CreditLedger.objects.exists()


@pytest.mark.parametrize("creator_id", [999_999, 10**30], ids=["unknown", "beyond-bigint"])
def test_unlock_unknown_creator_is_404(auth_client, user, creator_id):
    services.credits_grant(user=user, amount=5)
    response = auth_client.post(unlock_url(creator_id))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "creator_not_found"
    assert balance(user) == 5


def test_detail_locked_then_unlocked(auth_client, user):
    creator = CreatorFactory(ai_analysis={"summary": {"quality_score": 55}})
    PostFactory(creator=creator, caption="hello", ai_analysis={"sentiment": {"label": "neutral"}})
    locked = auth_client.get(f"/api/v1/simple/creator/{creator.pk}").json()
    assert locked["unlocked"] is False and "contact_email" not in locked and "ai_analysis" not in locked
    assert locked["recent_posts"][0]["caption"] == "hello" and "ai_analysis" not in locked["recent_posts"][0]
    services.credits_grant(user=user, amount=1)
    services.creator_unlock(user=user, creator_id=creator.pk)
    full = auth_client.get(f"/api/v1/simple/creator/{creator.pk}/").json()
    assert full["contact_email"] == creator.contact_email and full["contact_phone"] == creator.contact_phone
    assert full["ai_analysis"] == {"summary": {"quality_score": 55}}
    assert full["recent_posts"][0]["ai_analysis"] == {"sentiment": {"label": "neutral"}}


@pytest.mark.parametrize("creator_id", [424242, 10**30], ids=["unknown", "beyond-bigint"])
def test_detail_unknown_is_404(auth_client, creator_id):
    assert auth_client.get(f"/api/v1/simple/creator/{creator_id}").status_code == 404


def test_unlocked_list_shows_mine_newest_first(auth_client, user):
    services.credits_grant(user=user, amount=5)
    first, second, _never = CreatorFactory(), CreatorFactory(), CreatorFactory()
    other = UserFactory()
    services.credits_grant(user=other, amount=5)
    services.creator_unlock(user=other, creator_id=_never.pk)
    services.creator_unlock(user=user, creator_id=first.pk)
    services.creator_unlock(user=user, creator_id=second.pk)
    body = auth_client.get("/api/v1/simple/creator/unlocked").json()
    assert [r["id"] for r in body["results"]] == [second.pk, first.pk]
    assert all(r["unlocked"] and "contact_email" in r for r in body["results"])


def test_credits_shows_balance_and_ledger(auth_client, user, settings):
    settings.CREATOR_UNLOCK_PRICE = 2
    services.credits_grant(user=user, amount=10, note="welcome")
    creator = CreatorFactory()
    services.creator_unlock(user=user, creator_id=creator.pk)
    body = auth_client.get("/api/v1/credits").json()
    assert body["balance"] == 8 and body["unlock_price"] == 2
    assert [(e["delta"], e["reason"], e["balance_after"]) for e in body["results"]] == [
        (-2, "unlock", 8), (10, "grant", 10)]
    assert body["results"][0]["creator_id"] == creator.pk
    assert body["next"] is None


def test_credits_for_a_new_user_is_zero(auth_client):
    body = auth_client.get("/api/v1/credits/").json()
    assert body["balance"] == 0 and body["results"] == []


@pytest.mark.parametrize("amount", [0, -5, True])
def test_grant_refuses_non_positive_amounts(user, amount):
    with pytest.raises(Exception) as info:
        services.credits_grant(user=user, amount=amount)
    assert getattr(info.value, "code", "") == "invalid_amount"
    assert not CreditLedger.objects.exists()


def test_balance_can_never_go_negative_in_the_database(user):
    services.credits_grant(user=user, amount=1)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        CreditAccount.objects.filter(user=user).update(balance=-1)


def _run_in_threads(targets):
    outcomes = run_together(*targets)
    errors = errors_of(outcomes)
    return [None if error else outcome for outcome, error in zip(outcomes, errors, strict=True)], errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_unlocks_of_one_creator_charge_once():
    user = UserFactory()
    services.credits_grant(user=user, amount=10)
    creator = CreatorFactory()
    results, errors = _run_in_threads([lambda: services.creator_unlock(user=user, creator_id=creator.pk)] * 6)
    assert errors == [None] * 6
    assert sum(r.charged for r in results) == 1
    assert balance(user) == 9
    assert Unlock.objects.filter(user=user, creator=creator).count() == 1
    assert CreditLedger.objects.filter(user=user, reason="unlock").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_unlocks_of_different_creators_never_overdraw(settings):
    settings.CREATOR_UNLOCK_PRICE = 2
    user = UserFactory()
    services.credits_grant(user=user, amount=5)  # enough for two of the six
    creators = CreatorFactory.create_batch(6)
    results, errors = _run_in_threads(
        [lambda c=c: services.creator_unlock(user=user, creator_id=c.pk) for c in creators]
    )
    assert sum(r is not None and r.charged for r in results) == 2
    assert sum(isinstance(e, InsufficientCredits) for e in errors) == 4
    assert all(e is None or isinstance(e, InsufficientCredits) for e in errors)
    assert balance(user) == 1
    assert Unlock.objects.filter(user=user).count() == 2
    ledger = list(CreditLedger.objects.filter(user=user).order_by("id").values_list("delta", "balance_after"))
    assert ledger == [(5, 5), (-2, 3), (-2, 1)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_grants_create_one_account():
    user = UserFactory()
    _results, errors = _run_in_threads([lambda: services.credits_grant(user=user, amount=1)] * 5)
    assert errors == [None] * 5
    assert balance(user) == 5
    assert sorted(CreditLedger.objects.values_list("balance_after", flat=True)) == [1, 2, 3, 4, 5]
