"""Builders for calendar test data."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from calendars.encryption import encrypt_token
from calendars.models import CalendarConnection


def connection_create(*, user, google, email: str = "ada.google@example.com", expires_in: int = 3599,
                      **fields) -> CalendarConnection:
    """A stored connection holding tokens the fake Google really issued."""
    access, refresh = google.issue_tokens(email, expires_in=expires_in)
    return CalendarConnection.objects.create(
        user=user, account_email=email, access_token_encrypted=encrypt_token(access),
        refresh_token_encrypted=encrypt_token(refresh), token_expires_at=timezone.now() + timedelta(seconds=expires_in),
        scopes="https://www.googleapis.com/auth/calendar.readonly", **fields,
    )
