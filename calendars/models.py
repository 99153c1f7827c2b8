"""Calendar connections, per-calendar sync state, push channels, synced events and OAuth states.

Tokens are stored encrypted (`calendars.encryption`); the `*_encrypted` columns never leave the
services layer and are excluded from the admin and every serializer.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CalendarConnection(models.Model):
    class Provider(models.TextChoices):
        GOOGLE = "google", "Google"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_REAUTH = "needs_reauth", "Needs reconnecting"
        REVOKED = "revoked", "Revoked"
        ERROR = "error", "Error"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_connections")
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.GOOGLE)
    account_email = models.EmailField(blank=True)
    access_token_encrypted = models.TextField(blank=True, default="")
    refresh_token_encrypted = models.TextField(blank=True, default="")
    token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    reauth_notified_at = models.DateTimeField(null=True, blank=True)
    token_refreshed_at = models.DateTimeField(null=True, blank=True)
    # Sync lease: claimed with one conditional UPDATE so two syncs of a connection never overlap.
    sync_lock_until = models.DateTimeField(null=True, blank=True)
    sync_lock_owner = models.CharField(max_length=64, blank=True, default="")
    sync_requested_at = models.DateTimeField(null=True, blank=True)
    # Background sync (calendars/tasks.py): set when a sync task is queued, cleared when one starts, so
    # a burst of webhooks queues one task. The outcome of the last finished sync: "ok" or an error code.
    sync_queued_at = models.DateTimeField(null=True, blank=True)
    last_sync_result = models.CharField(max_length=64, blank=True, default="")
    last_sync_finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "provider"], name="calendar_connection_one_per_provider"),
        ]
        indexes = [models.Index(fields=["status", "next_retry_at"], name="calendar_conn_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} calendar of {self.user} ({self.status})"


class CalendarSyncState(models.Model):
    """Where the sync of one calendar of a connection stands."""

    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="calendars")
    calendar_id = models.CharField(max_length=255)
    sync_token = models.TextField(blank=True, default="")
    # Bumped when a full sync starts; rows not stamped with the new value afterwards are stale.
    generation = models.PositiveIntegerField(default=0)
    full_synced_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "calendar_id"], name="calendar_sync_state_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.calendar_id} of connection {self.connection_id}"


class PushChannel(models.Model):
    """A Google `events.watch` channel. The token is ours (checked on every notification), not Google's."""

    calendar = models.ForeignKey(CalendarSyncState, on_delete=models.CASCADE, related_name="channels")
    channel_id = models.CharField(max_length=64, unique=True)
    token = models.CharField(max_length=128)
    resource_id = models.CharField(max_length=255, blank=True, default="")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"channel {self.channel_id} for {self.calendar}"


class CalendarEvent(models.Model):
    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="events")
    calendar_id = models.CharField(max_length=255)
    google_id = models.CharField(max_length=1024)
    status = models.CharField(max_length=16, default="confirmed")
    summary = models.TextField(blank=True, default="")
    description = models.TextField(blank=True, default="")
    location = models.TextField(blank=True, default="")
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    all_day = models.BooleanField(default=False)
    time_zone = models.CharField(max_length=64, blank=True, default="")
    recurring_event_id = models.CharField(max_length=1024, blank=True, default="")
    html_link = models.URLField(max_length=2048, blank=True, default="")
    etag = models.CharField(max_length=255, blank=True, default="")
    updated = models.DateTimeField(null=True, blank=True)
    generation = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "calendar_id", "google_id"], name="calendar_event_unique_per_calendar"
            ),
        ]
        indexes = [
            models.Index(fields=["connection", "start"], name="calendar_event_window_idx"),
            models.Index(fields=["connection", "calendar_id", "recurring_event_id"], name="calendar_event_series_idx"),
        ]

    def __str__(self) -> str:
        return self.summary or self.google_id


class OAuthState(models.Model):
    """One authorization attempt: consumed once by the callback, PKCE verifier kept server-side."""

    nonce = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    code_verifier_encrypted = models.TextField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="calendar_oauth_state_exp_idx")]

    def __str__(self) -> str:
        return f"OAuth state for user {self.user_id} ({'used' if self.used_at else 'open'})"
