"""Accounts HTTP API: thin views that validate, call one service, and serialize."""

from __future__ import annotations

from functools import partial

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.fields import empty
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import profile_fields, selectors, services
from accounts.request_meta import RequestMeta

# Long enough for any passphrase, short enough that hashing it cannot be used to burn CPU.
PASSWORD_MAX_LENGTH = 1024


class AuthUserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    display_name = serializers.CharField()
    date_joined = serializers.DateTimeField()
    is_external = serializers.BooleanField()


class AuthSessionOutput(serializers.Serializer):
    user = AuthUserOutput()
    access = serializers.CharField()
    refresh = serializers.CharField()


class AuthTokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


def _password_field() -> serializers.CharField:
    return serializers.CharField(max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False, write_only=True)


def _session(user, tokens: dict) -> dict:
    return AuthSessionOutput({"user": user, **tokens}).data


class PublicApi(APIView):
    """Endpoints that authenticate by what is in the body: a stale bearer header must not 401 them."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class SignupApi(PublicApi):
    class AuthSignupInput(serializers.Serializer):
        email = serializers.EmailField(max_length=254)
        password = _password_field()
        display_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    @extend_schema(request=AuthSignupInput, responses={201: AuthSessionOutput}, summary="Create an account")
    def post(self, request):
        serializer = self.AuthSignupInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, tokens = services.user_signup(**serializer.validated_data, meta=RequestMeta.from_request(request))
        return Response(_session(user, tokens), status=status.HTTP_201_CREATED)


class LoginApi(PublicApi):
    class AuthLoginInput(serializers.Serializer):
        email = serializers.CharField(max_length=254)
        password = _password_field()

    @extend_schema(request=AuthLoginInput, responses={200: AuthSessionOutput}, summary="Sign in")
    def post(self, request):
        serializer = self.AuthLoginInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, tokens = services.user_login(**serializer.validated_data, meta=RequestMeta.from_request(request))
        return Response(_session(user, tokens))


class RefreshApi(PublicApi):
    class AuthRefreshInput(serializers.Serializer):
        refresh = serializers.CharField(max_length=4096)

    @extend_schema(request=AuthRefreshInput, responses={200: AuthTokenPairOutput}, summary="Rotate a refresh token")
    def post(self, request):
        serializer = self.AuthRefreshInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = services.token_refresh(**serializer.validated_data, meta=RequestMeta.from_request(request))
        return Response(tokens)


class LogoutApi(PublicApi):
    class AuthLogoutInput(serializers.Serializer):
        refresh = serializers.CharField(max_length=4096)

    @extend_schema(request=AuthLogoutInput, responses={204: None}, summary="Revoke a refresh token")
    def post(self, request):
        serializer = self.AuthLogoutInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_logout(**serializer.validated_data, meta=RequestMeta.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeApi(APIView):
    class AuthPasswordChangeInput(serializers.Serializer):
        old_password = _password_field()
        new_password = _password_field()

    @extend_schema(
        request=AuthPasswordChangeInput,
        responses={200: AuthTokenPairOutput},
        summary="Change the password; every refresh token of the user is revoked, a new pair is returned",
    )
    def post(self, request):
        serializer = self.AuthPasswordChangeInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = services.password_change(
            user=request.user, **serializer.validated_data, meta=RequestMeta.from_request(request)
        )
        return Response(tokens)


def _stripped(value: str | None) -> str:
    return (value or "").strip()


class ProfileText(serializers.CharField):
    """Optional text (null or "" clears it) turned into its canonical form by `parser`, one of
    accounts.profile_fields' parsers, whose ValidationError becomes this field's error."""

    def __init__(self, max_length: int, parser, **kwargs):
        self.parser = parser
        super().__init__(max_length=max_length, required=False, allow_blank=True, allow_null=True, **kwargs)

    def run_validation(self, data=empty):
        value = super().run_validation(data)
        try:
            return self.parser(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from None


class AuthProfileOutput(serializers.Serializer):
    email = serializers.EmailField(source="user.email")
    display_name = serializers.CharField(source="user.display_name")
    bio = serializers.CharField()
    phone = serializers.CharField()
    work_email = serializers.EmailField(allow_null=True)
    work_email_verified = serializers.BooleanField(help_text="false until proven: a new work email is pending")
    date_of_birth = serializers.DateField(allow_null=True)
    website = serializers.CharField()
    linkedin = serializers.CharField()
    twitter = serializers.CharField()
    github = serializers.CharField()
    timezone = serializers.CharField()
    emergency_contact_name = serializers.CharField()
    emergency_contact_phone = serializers.CharField()
    emergency_contact_email = serializers.CharField()
    updated_at = serializers.DateTimeField()


class AuthProfileInput(serializers.Serializer):
    """Every field optional (PATCH); null or "" clears a field. Unknown fields are refused, so a
    typo cannot look like a successful save; `email` is read-only."""

    display_name = ProfileText(150, _stripped)
    bio = ProfileText(2000, _stripped)
    phone = ProfileText(40, profile_fields.parse_phone)
    work_email = ProfileText(254, profile_fields.parse_email)
    date_of_birth = ProfileText(10, profile_fields.parse_date_of_birth)
    website = ProfileText(200, profile_fields.parse_website)
    linkedin = ProfileText(200, partial(profile_fields.parse_social, "linkedin"))
    twitter = ProfileText(200, partial(profile_fields.parse_social, "twitter"))
    github = ProfileText(200, partial(profile_fields.parse_social, "github"))
    timezone = ProfileText(64, profile_fields.parse_timezone)
    emergency_contact_name = ProfileText(150, _stripped)
    emergency_contact_phone = ProfileText(40, profile_fields.parse_phone)
    emergency_contact_email = ProfileText(254, profile_fields.parse_email)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            email = data.get("email")
            user = self.context.get("user")
            if "email" in data and (user is None or str(email).strip().lower() != user.email):
                errors["email"] = ["The email address is read-only here."]
            for name in set(data) - set(self.fields) - {"email"}:
                errors[name] = ["Unknown field."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class ProfileApi(APIView):
    @extend_schema(responses={200: AuthProfileOutput}, summary="The caller's profile")
    def get(self, request):
        return Response(AuthProfileOutput(selectors.profile_get(user=request.user)).data)

    @extend_schema(request=AuthProfileInput, responses={200: AuthProfileOutput}, summary="Update the caller's profile")
    def patch(self, request):
        serializer = AuthProfileInput(data=request.data, partial=True, context={"user": request.user})
        serializer.is_valid(raise_exception=True)
        profile = services.profile_update(user=request.user, changes=dict(serializer.validated_data))
        return Response(AuthProfileOutput(profile).data)
