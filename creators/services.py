"""Writes: unlocking creators with credits, granting credits, upserting imported creators.

Every balance change locks the user's CreditAccount row (`select_for_update`) and writes the
ledger entry, the new balance and (for unlocks) the Unlock in one transaction. The lock
serialises a user's unlocks, so two concurrent unlocks of one creator charge once and
concurrent unlocks of different creators can never overdraw; the CheckConstraint
(balance >= 0) and the unique (user, creator) constraint back this up in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction

from creators.errors import CreatorNotFound, InsufficientCredits
from creators.models import Creator, CreditAccount, CreditLedger, Unlock
from flashlearn.errors import DomainError

if TYPE_CHECKING:
    from accounts.interface import User

MAX_BALANCE = 2**31 - 1  # CreditAccount.balance and the ledger are IntegerFields


@dataclass(frozen=True)
class UnlockResult:
    unlock: Unlock
    charged: bool
    balance: int


def _locked_account(user: User) -> CreditAccount:
    # get_or_create survives the insert race itself (IntegrityError → get); then lock the row.
    CreditAccount.objects.get_or_create(user=user)
    return CreditAccount.objects.select_for_update().get(user=user)


def _apply(account: CreditAccount, *, delta: int, reason: str, note: str = "", creator: Creator | None = None,
           actor: User | None = None) -> CreditLedger:
    """Change a locked account's balance and record it; the caller holds the lock and the transaction."""
    new_balance = account.balance + delta
    if new_balance < 0:
        raise InsufficientCredits(
            f"This needs {-delta} credits and your balance is {account.balance}.",
        )
    if new_balance > MAX_BALANCE:  # beyond the integer column: a database error, not a grant
        raise DomainError(f"A balance cannot exceed {MAX_BALANCE} credits.", code="invalid_amount",
                          fields={"amount": [f"The balance would exceed {MAX_BALANCE}."]})
    account.balance = new_balance
    account.save(update_fields=["balance", "updated_at"])
    return CreditLedger.objects.create(
        user_id=account.user_id, delta=delta, reason=reason, note=note, creator=creator, actor=actor,
        balance_after=new_balance,
    )


def creator_unlock(*, user: User, creator_id: int) -> UnlockResult:
    """Unlock a creator's contact details and analysis for `user`; free and idempotent once done."""
    # The creator first: an id beyond the column's range is simply not found here, whereas
    # `creator_id=<huge>` on the foreign key would reach the driver and overflow (a 500).
    creator = Creator.objects.filter(pk=creator_id).first()
    if creator is None:
        raise CreatorNotFound()
    existing = Unlock.objects.filter(user=user, creator=creator).first()
    if existing is not None:
        return UnlockResult(unlock=existing, charged=False, balance=_balance(user))
    price = settings.CREATOR_UNLOCK_PRICE
    try:
        with transaction.atomic():
            account = _locked_account(user)
            # Re-check under the lock: a concurrent request may have unlocked it meanwhile.
            existing = Unlock.objects.filter(user=user, creator=creator).first()
            if existing is not None:
                return UnlockResult(unlock=existing, charged=False, balance=account.balance)
            if price > 0:
                _apply(account, delta=-price, reason=CreditLedger.Reason.UNLOCK, creator=creator,
                       note=f"unlock {creator}")
            unlock = Unlock.objects.create(user=user, creator=creator, credits_spent=max(price, 0))
            return UnlockResult(unlock=unlock, charged=price > 0, balance=account.balance)
    except IntegrityError:
        # Only reachable without the row lock (SQLite under concurrent writers): the unique
        # constraint rolled the whole charge back, so the first unlock stands alone.
        existing = Unlock.objects.filter(user=user, creator=creator).first()
        if existing is None:
            raise
        return UnlockResult(unlock=existing, charged=False, balance=_balance(user))


def _balance(user: User) -> int:
    return CreditAccount.objects.filter(user=user).values_list("balance", flat=True).first() or 0


@transaction.atomic
def credits_grant(*, user: User, amount: int, actor: User | None = None, note: str = "") -> CreditLedger:
    """Add `amount` (> 0) credits to `user`'s balance."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise DomainError("The amount must be a positive whole number.", code="invalid_amount",
                          fields={"amount": ["Must be a positive whole number."]})
    account = _locked_account(user)
    return _apply(account, delta=amount, reason=CreditLedger.Reason.GRANT, note=note, actor=actor)


UPSERT_FIELDS = [
    "display_name", "bio", "avatar_url", "profile_url", "followers", "following", "posts_count",
    "engagement_rate", "category", "country", "language", "verified", "contact_email", "contact_phone",
]


def creators_upsert(*, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """Insert or update creators by (platform, handle); returns (created, updated).

    Rows are already validated. Fields a row leaves out keep their stored value on update.
    """
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:  # the same creator twice: the later row wins, field by field
        merged.setdefault((row["platform"], row["handle"]), {}).update(row)
    if not merged:
        return 0, 0
    created = updated = 0
    with transaction.atomic():
        keys = set(merged)
        existing = {
            (c.platform, c.handle): c
            for c in Creator.objects.filter(handle__in={h for _, h in keys}).only("id", "platform", "handle")
            if (c.platform, c.handle) in keys
        }
        to_create: list[Creator] = []
        by_fields: dict[tuple[str, ...], list[Creator]] = {}
        for key, row in merged.items():
            values = {k: v for k, v in row.items() if k in UPSERT_FIELDS}
            if key in existing:
                creator = existing[key]
                for field, value in values.items():
                    setattr(creator, field, value)
                by_fields.setdefault(tuple(sorted(values)), []).append(creator)
                updated += 1
            else:
                to_create.append(Creator(platform=row["platform"], handle=row["handle"], **values))
                created += 1
        Creator.objects.bulk_create(to_create, batch_size=1000)
        for fields, creators in by_fields.items():
            if fields:
                # A changed profile is worth a fresh analysis.
                for c in creators:
                    c.ai_analyzed_at = None
                Creator.objects.bulk_update(creators, [*fields, "ai_analyzed_at"], batch_size=1000)
    return created, updated
