from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models
from django.db.models import F
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
    # When the address was proven (a trusted path only: an operator, or a verified external
    # identity that created the account). Local sign-up leaves it null; only a proven address is
    # ever linked to a Supabase identity with the same email.
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # Carried in every token we issue (claim `ver`); bumped whenever the password hash changes or
    # the account is deactivated, so every outstanding token of the user dies, whatever path did it.
    token_version = models.PositiveIntegerField(default=0, editable=False)

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

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._remember_credentials()
        return instance

    def _remember_credentials(self) -> None:
        self._saved_credentials = (self.__dict__.get("password"), self.__dict__.get("is_active"))

    def refresh_from_db(self, *args, **kwargs) -> None:
        super().refresh_from_db(*args, **kwargs)
        fields = kwargs.get("fields")
        if fields is None or {"password", "is_active"} & set(fields):
            self._remember_credentials()

    def check_password(self, raw_password: str) -> bool:
        """Django's, except that re-hashing the same password (a hasher upgrade) keeps sessions."""

        def rehash(raw: str) -> None:
            self.set_password(raw)
            self._password = None
            self._saved_credentials = (self.password, self.is_active)
            self.save(update_fields=["password"])

        return check_password(raw_password, self.password, rehash)

    def _credentials_lapse(self, update_fields) -> bool:
        """Does this save change the password hash or deactivate the account?"""
        saved = getattr(self, "_saved_credentials", (None, None))
        if None in saved:  # built without a read (or fields deferred): ask the database
            saved = type(self)._base_manager.filter(pk=self.pk).values_list("password", "is_active").first()
            if saved is None:
                return False
        writes = (lambda name: True) if update_fields is None else (lambda name: name in update_fields)
        return (writes("password") and self.password != saved[0]) or (
            writes("is_active") and saved[1] and not self.is_active
        )

    def save(self, **kwargs) -> None:
        """Bumps `token_version` (in the database, F() + 1) when the password hash changes or the
        account is deactivated, through any path: the API, the admin's forms, `changepassword`.

        A plain save of an existing user never writes `token_version` back from memory: a stale
        instance (loaded before a password change) must not resurrect revoked tokens.
        """
        if self._state.adding or self.pk is None:
            super().save(**kwargs)
            self._remember_credentials()
            return
        update_fields = kwargs.get("update_fields")
        lapse = self._credentials_lapse(update_fields)
        if lapse:
            self.token_version = F("token_version") + 1
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "token_version"}
        elif update_fields is None:
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields if not f.primary_key and f.name != "token_version"
            ]
        super().save(**kwargs)
        if lapse:
            self.refresh_from_db(fields=["token_version"])
        self._remember_credentials()


class Profile(models.Model):
    """Everything about a user that is not needed to sign in. Exactly one per user.

    Values are stored already normalised (E.164 phones, canonical social URLs, lower-cased
    emails); `accounts.profile_fields` does the parsing.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    bio = models.TextField(max_length=2000, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    # Pending until proven (work_email_verified): anyone may claim any address, so claiming one
    # never tells whether somebody else holds it. Two people cannot share a *verified* address.
    work_email = models.EmailField(max_length=254, null=True, blank=True, db_index=True)
    work_email_verified = models.BooleanField(default=False)
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

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["work_email"], condition=models.Q(work_email_verified=True),
                name="accounts_profile_verified_work_email_unique",
                violation_error_message="Another account has verified this work email.",
            ),
        ]

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
        TOKEN_REUSED = "token_reused"  # a rotated or logged-out refresh token came back: all sessions revoked

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
