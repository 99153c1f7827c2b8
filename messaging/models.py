import secrets

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

MESSAGE_BODY_MAX = 4000
CLIENT_ID_MAX = 64
INVITE_CODE_MAX = 64


def new_invite_code() -> str:
    """32 URL-safe characters, 192 random bits: guessing one is hopeless, so only holders can join."""
    return secrets.token_urlsafe(24)


class LiveSession(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        LIVE = "live"
        ENDED = "ended"

    class Visibility(models.TextChoices):
        PUBLIC = "public"  # anyone signed in can join by id
        PRIVATE = "private"  # joining needs the invite code

    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hosted_live_sessions")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="", max_length=5000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE)
    invite_code = models.CharField(max_length=INVITE_CODE_MAX, unique=True, default=new_invite_code, editable=False)
    # The `seq` of the newest message; moved only by Message.save() (F() update under the row lock).
    last_seq = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="live_sessions")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["scheduled", "live", "ended"]), name="messaging_livesession_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(visibility__in=["public", "private"]), name="messaging_livesession_visibility_valid"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True)
                | Q(started_at__isnull=True)
                | Q(ended_at__gte=models.F("started_at")),
                name="messaging_livesession_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (#{self.pk})"

    def save(self, *args, **kwargs):
        """A full save of a loaded session (the admin form, an edit) never writes `last_seq` back:
        its copy may be stale, and moving the counter backwards would reuse a message's seq."""
        if self.pk is not None and not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields if not f.primary_key and f.name != "last_seq"
            ]
        super().save(*args, **kwargs)


class Membership(models.Model):
    class Role(models.TextChoices):
        HOST = "host"
        PARTICIPANT = "participant"

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_session_memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PARTICIPANT)
    joined_at = models.DateTimeField(default=timezone.now)
    # Highest message id the member has read; only ever moves forward (see membership_mark_read).
    last_read_message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="messaging_membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=["host", "participant"]), name="messaging_membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in #{self.session_id} ({self.role})"


class Message(models.Model):
    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_messages")
    body = models.CharField(max_length=MESSAGE_BODY_MAX)
    # Chosen by the client so a retried send returns the first message instead of a copy.
    client_id = models.CharField(max_length=CLIENT_ID_MAX, null=True, blank=True)
    # Position in its session: 1, 2, 3, ... without gaps, in commit order (see save()). Clients
    # and each process's hub use it to notice a missed delivery and fetch exactly what is missing.
    seq = models.PositiveBigIntegerField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "session", "client_id"],
                condition=Q(client_id__isnull=False),
                name="messaging_message_client_id_unique",
            ),
            models.UniqueConstraint(fields=["session", "seq"], name="messaging_message_session_seq_unique"),
        ]
        indexes = [models.Index(fields=["session", "id"], name="messaging_msg_session_id_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} by {self.author_id} in #{self.session_id}"

    def save(self, *args, **kwargs):
        """A new message takes the next `seq` of its session in the same transaction as its row.

        The F() update row-locks the session until commit (on SQLite it takes the write lock), so
        two senders queue there: seqs have no gaps and commit in order, and a reader that sees
        seq n committed sees every seq below it.
        """
        if self.seq is not None:
            return super().save(*args, **kwargs)
        with transaction.atomic(using=kwargs.get("using")):
            sessions = LiveSession.objects.filter(pk=self.session_id)
            if not sessions.update(last_seq=models.F("last_seq") + 1):
                raise LiveSession.DoesNotExist(f"Live session {self.session_id} does not exist.")
            self.seq = sessions.values_list("last_seq", flat=True).get()
            super().save(*args, **kwargs)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None
