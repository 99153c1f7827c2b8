"""Parsing of profile values: each function takes what a client sent and returns the stored form.

Every parser raises `django.core.exceptions.ValidationError` with a message a person can act on.
Empty input (None or blank) means "clear the field" and returns the field's empty value.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from functools import cache
from urllib.parse import urlsplit

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

MAX_AGE_YEARS = 130

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_email_validator = EmailValidator(message="Enter a valid email address.")
_web_url_validator = URLValidator(schemes=["http", "https"], message="Enter a valid http(s) URL.")
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_email(value: str | None) -> str:
    """A valid address, lower-cased so that uniqueness is case-insensitive; "" when blank."""
    if _blank(value):
        return ""
    value = str(value).strip().lower()
    _email_validator(value)
    return value


def parse_phone(value: str | None, *, region: str | None = None) -> str:
    """A possible, valid phone number in E.164 (`+14155550123`); "" when blank.

    International forms (`+44 20 7946 0958`, `0044...` where the region's prefix is 00) need no
    region; national forms (`(415) 555-0123`) are read in PHONE_DEFAULT_REGION.
    """
    if _blank(value):
        return ""
    raw = str(value).strip()
    if len(raw) > 40:
        raise ValidationError("Enter a valid phone number.")
    region = (region or settings.PHONE_DEFAULT_REGION or "US").upper()
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError("Enter a valid phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            f"Enter a valid phone number: national numbers are read as {region}; "
            "write others with their +country code."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date_of_birth(value: str | date | None, *, today: date | None = None) -> date | None:
    """`YYYY-MM-DD`, `MM/DD/YYYY` or `DD/MM/YYYY`; None when blank.

    A slash date that is a real date read both ways with different results (03/04/2000) is
    refused as ambiguous rather than guessed. The date may not be in the future or more than
    130 years ago.
    """
    if _blank(value):
        return None
    today = today or date.today()
    if isinstance(value, date):
        parsed = value
    else:
        text = str(value).strip()
        if match := _ISO_DATE.match(text):
            parsed = _make_date(*(int(g) for g in match.groups()))
            if parsed is None:
                raise ValidationError("Not a real date.")
        elif match := _SLASH_DATE.match(text):
            first, second, year = (int(g) for g in match.groups())
            month_first = _make_date(year, first, second)
            day_first = _make_date(year, second, first)
            if month_first and day_first and month_first != day_first:
                raise ValidationError(
                    f"Ambiguous date: {text} could be {month_first.isoformat()} (MM/DD/YYYY) or "
                    f"{day_first.isoformat()} (DD/MM/YYYY). Send it as YYYY-MM-DD."
                )
            parsed = month_first or day_first
            if parsed is None:
                raise ValidationError("Not a real date.")
        else:
            raise ValidationError("Use YYYY-MM-DD, MM/DD/YYYY or DD/MM/YYYY.")
    if parsed > today:
        raise ValidationError("A date of birth cannot be in the future.")
    oldest = _make_date(today.year - MAX_AGE_YEARS, today.month, today.day) or date(
        today.year - MAX_AGE_YEARS, today.month, today.day - 1
    )
    if parsed < oldest:
        raise ValidationError(f"A date of birth cannot be more than {MAX_AGE_YEARS} years ago.")
    return parsed


def parse_website(value: str | None) -> str:
    """An http(s) URL; a bare host (`example.com/me`) is taken as https. "" when blank."""
    if _blank(value):
        return ""
    text = str(value).strip()
    if not _HAS_SCHEME.match(text) or text.lower().startswith(("localhost:", "www.")):
        text = f"https://{text}"
    scheme = text.split(":", 1)[0].lower()
    if scheme not in {"http", "https"}:
        raise ValidationError("Only http and https URLs are accepted.")
    if len(text) > 200:
        raise ValidationError("The URL is too long (200 characters at most).")
    _web_url_validator(text)
    return text


class _Site:
    def __init__(self, *, name: str, hosts: set[str], handle: str, canonical: str, path_prefix: tuple[str, ...] = ()):
        self.name = name
        self.hosts = hosts
        self.handle = re.compile(handle)
        self.canonical = canonical
        self.path_prefix = path_prefix


_SITES = {
    "linkedin": _Site(
        name="LinkedIn",
        hosts={"linkedin.com", "www.linkedin.com"},
        handle=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,99}$",
        canonical="https://www.linkedin.com/in/{}",
        path_prefix=("in",),
    ),
    "twitter": _Site(
        name="X (Twitter)",
        hosts={"twitter.com", "www.twitter.com", "mobile.twitter.com", "x.com", "www.x.com", "mobile.x.com"},
        handle=r"^[A-Za-z0-9_]{1,15}$",
        canonical="https://x.com/{}",
    ),
    "github": _Site(
        name="GitHub",
        hosts={"github.com", "www.github.com"},
        handle=r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$",
        canonical="https://github.com/{}",
    ),
}
# Country subdomains: uk.linkedin.com/in/name is the same profile.
_LINKEDIN_COUNTRY_HOST = re.compile(r"^[a-z]{2}\.linkedin\.com$")


def parse_social(kind: str, value: str | None) -> str:
    """A profile URL or a bare handle (`@name`, `name`) for `kind` as its canonical URL; "" when blank.

    A URL of another site, or of something that is not a profile (a repository, a post), is refused.
    """
    site = _SITES[kind]
    if _blank(value):
        return ""
    text = str(value).strip()
    handle: str | None = None
    if "/" not in text and "." not in text:
        handle = text[1:] if text.startswith("@") else text
    else:
        url = text if _HAS_SCHEME.match(text) else f"https://{text}"
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:  # e.g. an unclosed IPv6 bracket
            raise ValidationError(f"Enter a {site.name} profile URL or a handle such as @name.") from None
        if parts.scheme.lower() not in {"http", "https"} or not (
            host in site.hosts or (kind == "linkedin" and _LINKEDIN_COUNTRY_HOST.match(host))
        ):
            raise ValidationError(f"Enter a {site.name} profile URL or a handle such as @name.")
        segments = [s for s in parts.path.split("/") if s]
        if site.path_prefix:
            if len(segments) != 2 or segments[0].lower() not in site.path_prefix:
                raise ValidationError(f"Enter a {site.name} profile URL such as {site.canonical.format('name')}.")
            handle = segments[1]
        else:
            if len(segments) != 1:
                raise ValidationError(f"Enter a {site.name} profile URL such as {site.canonical.format('name')}.")
            handle = segments[0]
        handle = handle[1:] if handle.startswith("@") else handle
    if not site.handle.match(handle):
        raise ValidationError(f"{handle!r} is not a valid {site.name} handle.")
    return site.canonical.format(handle)


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def parse_timezone(value: str | None) -> str:
    """An IANA time zone name (`Europe/Paris`); "" when blank."""
    if _blank(value):
        return ""
    text = str(value).strip()
    if text not in _timezones():
        raise ValidationError("Unknown time zone: use an IANA name such as Europe/Paris.")
    return text
