from django.contrib.auth.base_user import BaseUserManager
from django.db import transaction


class UserManager(BaseUserManager):
    use_in_migrations = True

    def normalize_email(self, email: str | None) -> str:  # type: ignore[override]
        return super().normalize_email((email or "").strip()).lower()

    def get_by_natural_key(self, username: str):
        return self.get(email=self.normalize_email(username))

    def _create_user(self, email: str, password: str | None, **extra):
        from accounts.models import Profile

        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)  # hashes (or marks unusable) before the transaction opens
        with transaction.atomic(using=self._db):
            user.save(using=self._db)
            Profile.objects.using(self._db).create(user=user)  # a user never exists without a profile
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)
