from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.managers import UserManager


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address (stored lower-cased)."""

    email = models.EmailField(max_length=254, unique=True)
    display_name = models.CharField(max_length=150, blank=True)
    # `sub` of an externally issued (Supabase) token, for users who signed in that way.
    external_id = models.UUIDField(null=True, blank=True, unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    @property
    def is_external(self) -> bool:
        return self.external_id is not None


class Profile(models.Model):
    """Everything about a user that is not needed to sign in. Exactly one per user.

    Values are stored already normalised (E.164 phones, canonical social URLs, lower-cased
    emails); `accounts.profile_fields` does the parsing.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    bio = models.TextField(max_length=2000, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    # Unique when set (NULL when not): two people cannot share a work address.
    work_email = models.EmailField(max_length=254, null=True, blank=True, unique=True)
    date_of_birth = models.DateField(null=True, blank=True)
    website = models.URLField(max_length=200, blank=True)
    linkedin = models.URLField(max_length=200, blank=True)
    twitter = models.URLField(max_length=200, blank=True)
    github = models.URLField(max_length=200, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    emergency_contact_name = models.CharField(max_length=150, blank=True)
    emergency_contact_phone = models.CharField(max_length=20, blank=True)
    emergency_contact_email = models.EmailField(max_length=254, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"profile of {self.user_id}"


class AuthEvent(models.Model):
    """Append-only audit trail of authentication. Never holds a password or a token."""

    class Kind(models.TextChoices):
        SIGNUP = "signup"
        LOGIN_SUCCEEDED = "login_succeeded"
        LOGIN_FAILED = "login_failed"
        LOCKOUT = "lockout"
        REFRESH = "refresh"
        LOGOUT = "logout"
        PASSWORD_CHANGED = "password_changed"
        EXTERNAL_USER_CREATED = "external_user_created"
        TOKEN_REJECTED = "token_rejected"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="auth_events"
    )
    # The address that was tried (login failures included); never the password.
    email = models.CharField(max_length=254, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "created_at"], name="accounts_authevent_kind_time")]

    def __str__(self) -> str:
        return f"{self.kind} {self.email or self.user_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"
