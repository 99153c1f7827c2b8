"""The admin's sign-in form: the API's lockout and audit trail, not Django's bare authenticate()."""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from accounts import services
from accounts.errors import InvalidCredentials
from accounts.request_meta import RequestMeta
from flashlearn.errors import DomainError


class LockoutAdminAuthenticationForm(AdminAuthenticationForm):
    """Checks the password through `services.admin_login`: refused before any hashing while the
    email or IP is locked, counted toward the same limits as `/auth/login`, and audited."""

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            try:
                self.user_cache = services.admin_login(
                    email=email, password=password, meta=RequestMeta.from_request(self.request)
                )
            except InvalidCredentials:
                raise self.get_invalid_login_error() from None
            except DomainError as exc:  # locked out (429) or the counters' cache is down (503)
                raise ValidationError(exc.message, code=exc.code) from None
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
