"""Reads of the accounts app: no side effects."""

from __future__ import annotations

from accounts.models import Profile, User


def profile_get(*, user: User) -> Profile:
    """The user's profile. One never stored is shown with its defaults (last changed when the account
    was made) and is not created: a GET must not write; the first PATCH stores it (profile_update)."""
    try:
        return user.profile
    except Profile.DoesNotExist:
        # By user_id, not user=: assigning the user would cache this unsaved row as user.profile.
        return Profile(user_id=user.pk, updated_at=user.date_joined)
