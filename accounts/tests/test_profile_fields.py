"""Table-driven tests of every profile format, good and bad."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from accounts.profile_fields import (
    parse_date_of_birth,
    parse_email,
    parse_phone,
    parse_social,
    parse_timezone,
    parse_website,
)

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ada@Example.COM", "ada@example.com"),
        ("  first.last+tag@sub.example.org ", "first.last+tag@sub.example.org"),
        ("", ""),
        (None, ""),
    ],
)
def test_email_good(raw, expected):
    assert parse_email(raw) == expected


@pytest.mark.parametrize("raw", ["plainaddress", "a@", "@example.com", "a b@example.com", "a@example..com"])
def test_email_bad(raw):
    with pytest.raises(ValidationError):
        parse_email(raw)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415-555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("1 415 555 2671", "US", "+14155552671"),
        ("+1 (415) 555-2671", "US", "+14155552671"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("011 44 20 7946 0958", "US", "+442079460958"),  # US international prefix
        ("020 7946 0958", "GB", "+442079460958"),  # national form read in the configured region
        ("0044 20 7946 0958", "GB", "+442079460958"),
        ("+33 6 12 34 56 78", "US", "+33612345678"),
        ("", "US", ""),
    ],
)
def test_phone_good(raw, region, expected):
    assert parse_phone(raw, region=region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("12345", "US"),
        ("not a phone", "US"),
        ("+1 555 0100", "US"),
        ("020 7946 0958", "US"),  # a UK national number is not a US number
        ("+999 1234 5678", "US"),
        ("1" * 50, "US"),
    ],
)
def test_phone_bad(raw, region):
    with pytest.raises(ValidationError):
        parse_phone(raw, region=region)


def test_phone_default_region_comes_from_settings(settings):
    settings.PHONE_DEFAULT_REGION = "GB"
    assert parse_phone("020 7946 0958") == "+442079460958"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2000-03-04", date(2000, 3, 4)),
        ("12/25/1990", date(1990, 12, 25)),  # only MM/DD works
        ("25/12/1990", date(1990, 12, 25)),  # only DD/MM works
        ("4/4/2000", date(2000, 4, 4)),  # both readings are the same day
        ("1/13/2001", date(2001, 1, 13)),
        ("2000-02-29", date(2000, 2, 29)),
        ("2026-11-23", TODAY),
        ("1896-11-23", date(1896, 11, 23)),  # exactly 130 years
        ("", None),
        (None, None),
    ],
)
def test_date_of_birth_good(raw, expected):
    assert parse_date_of_birth(raw, today=TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("03/04/2000", "Ambiguous"),
        ("12/11/1999", "Ambiguous"),
        ("2026-11-24", "future"),
        ("11/24/2026", "future"),
        ("1896-11-22", "130 years"),
        ("2001-02-29", "real date"),
        ("13/13/2000", "real date"),
        ("2000/03/04", "Use YYYY-MM-DD"),
        ("03-04-2000", "Use YYYY-MM-DD"),
        ("March 4 2000", "Use YYYY-MM-DD"),
        ("20000-01-01", "Use YYYY-MM-DD"),
    ],
)
def test_date_of_birth_bad(raw, message):
    with pytest.raises(ValidationError) as exc:
        parse_date_of_birth(raw, today=TODAY)
    assert message in exc.value.messages[0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://example.com", "https://example.com"),
        ("http://example.com/about?x=1", "http://example.com/about?x=1"),
        ("example.com/me", "https://example.com/me"),
        ("www.example.org", "https://www.example.org"),
        ("", ""),
    ],
)
def test_website_good(raw, expected):
    assert parse_website(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["ftp://example.com", "javascript:alert(1)", "data:text/html,hi", "mailto:a@example.com", "https://", "not a url",
     "https://" + "a" * 200 + ".com"],
)
def test_website_bad(raw):
    with pytest.raises(ValidationError):
        parse_website(raw)


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("linkedin", "ada-lovelace", "https://www.linkedin.com/in/ada-lovelace"),
        ("linkedin", "@ada-lovelace", "https://www.linkedin.com/in/ada-lovelace"),
        ("linkedin", "https://www.linkedin.com/in/ada-lovelace/", "https://www.linkedin.com/in/ada-lovelace"),
        ("linkedin", "linkedin.com/in/ada-lovelace?trk=x", "https://www.linkedin.com/in/ada-lovelace"),
        ("linkedin", "http://uk.linkedin.com/in/ada", "https://www.linkedin.com/in/ada"),
        ("twitter", "@ada_l", "https://x.com/ada_l"),
        ("twitter", "ada_l", "https://x.com/ada_l"),
        ("twitter", "https://twitter.com/ada_l", "https://x.com/ada_l"),
        ("twitter", "https://x.com/ada_l/", "https://x.com/ada_l"),
        ("twitter", "x.com/@ada_l", "https://x.com/ada_l"),
        ("twitter", "https://mobile.twitter.com/ada_l", "https://x.com/ada_l"),
        ("github", "ada", "https://github.com/ada"),
        ("github", "@ada-l", "https://github.com/ada-l"),
        ("github", "https://github.com/ada-l", "https://github.com/ada-l"),
        ("github", "www.github.com/ada-l/", "https://github.com/ada-l"),
        ("github", "", ""),
    ],
)
def test_social_good(kind, raw, expected):
    assert parse_social(kind, raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("linkedin", "https://github.com/ada"),  # another site's URL
        ("linkedin", "https://www.linkedin.com/feed/"),
        ("linkedin", "https://evil-linkedin.com/in/ada"),
        ("twitter", "https://facebook.com/ada"),
        ("twitter", "@this_handle_is_too_long"),
        ("twitter", "https://x.com/ada/status/123"),
        ("twitter", "ada-l"),  # hyphens are not allowed on X
        ("github", "https://gitlab.com/ada"),
        ("github", "https://github.com/ada/repo"),  # a repository, not a profile
        ("github", "-ada"),
        ("github", "ada--l"),
        ("github", "ftp://github.com/ada"),
        ("github", "https://github.com.evil.com/ada"),
        ("linkedin", "http://[::1/in/ada"),  # urlsplit raises ValueError: must be a 400, not a 500
        ("github", "https://[github.com/ada"),
    ],
)
def test_social_bad(kind, raw):
    with pytest.raises(ValidationError):
        parse_social(kind, raw)


@pytest.mark.parametrize(("raw", "expected"), [("Europe/Paris", "Europe/Paris"), ("UTC", "UTC"), ("", "")])
def test_timezone_good(raw, expected):
    assert parse_timezone(raw) == expected


@pytest.mark.parametrize("raw", ["Mars/Olympus", "GMT+25", "europe/paris "])
def test_timezone_bad(raw):
    with pytest.raises(ValidationError):
        parse_timezone(raw)
