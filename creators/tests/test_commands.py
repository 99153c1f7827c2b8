import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from creators import demo
from creators.models import Creator, CreatorPost, CreditAccount, CreditLedger
from creators.tests.factories import CreatorFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(name, *args):
    out, err = StringIO(), StringIO()
    extra = [] if name == "grant_credits" else ["--no-progress"]
    call_command(name, *args, *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


CSV = """platform,handle,display_name,followers,engagement_rate,country,verified,contact_email
instagram,@Yoga_Anna,Anna,12000,3.5,us,true,anna@example.com
tiktok,chef_marco,Marco,not-a-number,1.2,IT,false,marco@example.com
youtube,pixel_kim,Kim,5000,2.0,KOR,false,kim@example.com
myspace,tom,Tom,100,1.0,US,false,tom@example.com
instagram,existing_one,New Name,,,GB,,
"""


def test_import_csv_upserts_good_rows_and_reports_bad_ones_by_line(tmp_path):
    CreatorFactory(platform="instagram", handle="existing_one", display_name="Old", followers=777, country="US")
    path = tmp_path / "creators.csv"
    path.write_text(CSV)
    out, err = run("import_creators", str(path))
    assert "5 rows read, 1 created, 1 updated, 3 rejected" in out
    assert "line 3: followers: A valid integer is required." in err
    assert "line 4: country: Use a two-letter country code" in err
    assert 'line 5: platform: "myspace" is not a valid choice.' in err
    anna = Creator.objects.get(handle="yoga_anna")
    assert (anna.platform, anna.followers, anna.country, anna.verified) == ("instagram", 12000, "US", True)
    existing = Creator.objects.get(handle="existing_one")
    assert (existing.display_name, existing.followers, existing.country) == ("New Name", 777, "GB")
    assert not Creator.objects.filter(handle__in=["chef_marco", "pixel_kim", "tom"]).exists()


def test_import_jsonl_with_bad_json_and_unknown_columns(tmp_path):
    lines = [
        {"platform": "tiktok", "handle": "dancer", "followers": 10, "bio": "Dance every day"},
        "{not json",
        {"platform": "tiktok", "handle": "x", "favourite_colour": "blue"},
        {"platform": "youtube", "handle": "dancer", "contact_email": "not-an-email"},
        "",
        {"platform": "youtube", "handle": "dancer", "followers": 99},
    ]
    path = tmp_path / "creators.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    out, err = run("import_creators", str(path))
    assert "5 rows read, 2 created, 0 updated, 3 rejected" in out
    assert "line 2: row: Not valid JSON" in err
    assert "line 3: favourite_colour: Unknown column." in err
    assert "line 4: contact_email: Enter a valid email address." in err
    assert sorted(Creator.objects.values_list("platform", "followers")) == [("tiktok", 10), ("youtube", 99)]
    # The same file again only updates.
    out, _ = run("import_creators", str(path))
    assert "0 created, 2 updated" in out
    assert Creator.objects.count() == 2


def test_import_rejects_values_the_columns_cannot_hold(tmp_path, auth_client):
    """NaN would be stored and then break every JSON answer listing it; a follower count past
    bigint would fail the whole upsert instead of one row."""
    lines = [
        '{"platform": "tiktok", "handle": "nan_rate", "engagement_rate": NaN}',
        json.dumps({"platform": "tiktok", "handle": "huge", "followers": 2**63}),
        json.dumps({"platform": "tiktok", "handle": "fine", "followers": 2**63 - 1, "engagement_rate": 1.5}),
        json.dumps({"platform": "tiktok", "handle": "long_mail",
                    "contact_email": "a" * 64 + "@" + ".".join(["b" * 63] * 4)}),  # valid form, 320 chars
    ]
    path = tmp_path / "creators.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out, err = run("import_creators", str(path))
    assert "4 rows read, 1 created, 0 updated, 3 rejected" in out
    assert "line 1: engagement_rate: A valid finite number is required." in err
    assert "line 2: followers: Ensure this value is less than or equal to" in err
    assert "line 4: contact_email: Ensure this field has no more than 254 characters." in err
    assert list(Creator.objects.values_list("handle", flat=True)) == ["fine"]
    assert auth_client.get("/api/v1/simple/creator/search").status_code == 200


def test_grant_past_the_balance_column_is_refused_cleanly():
    user = UserFactory()
    run("grant_credits", user.email, "5")
    with pytest.raises(CommandError, match="cannot exceed"):
        run("grant_credits", user.email, str(2**31 - 5))
    assert CreditAccount.objects.get(user=user).balance == 5
    assert CreditLedger.objects.filter(user=user).count() == 1


def test_import_strict_writes_nothing_when_a_row_is_bad(tmp_path):
    path = tmp_path / "creators.csv"
    path.write_text(CSV)
    with pytest.raises(CommandError, match="3 bad rows"):
        run("import_creators", str(path), "--strict")
    assert not Creator.objects.exists()


def test_import_refuses_an_unknown_format(tmp_path):
    path = tmp_path / "creators.xlsx"
    path.write_text("x")
    with pytest.raises(CommandError, match="--format"):
        run("import_creators", str(path))


def test_seed_demo_is_deterministic_and_adds_only_what_is_missing(settings):
    settings.DEBUG = True  # the public demo password (creators/tests/test_seed_demo_password.py)
    out, _ = run("seed_demo", "--creators", "30", "--credits", "25")
    assert "30 creators" in out
    first = list(Creator.objects.order_by("handle").values_list("handle", "followers", "bio", "country"))
    posts = CreatorPost.objects.count()
    assert posts >= 30
    user = get_user_model().objects.get(email=demo.DEMO_EMAIL)
    assert user.check_password(demo.DEMO_PASSWORD)
    assert CreditAccount.objects.get(user=user).balance == 25
    out, _ = run("seed_demo", "--creators", "30", "--credits", "25")
    assert "0 creators and 0 posts created" in out
    assert CreatorPost.objects.count() == posts
    assert CreditLedger.objects.filter(user=user).count() == 1  # no second top-up
    Creator.objects.all().delete()
    run("seed_demo", "--creators", "30")
    assert list(Creator.objects.order_by("handle").values_list("handle", "followers", "bio", "country")) == first


def test_seed_demo_looks_realistic():
    run("seed_demo", "--creators", "60", "--no-posts", "--password", "a demo passphrase 60")
    assert not CreatorPost.objects.exists()
    assert Creator.objects.values("platform").distinct().count() == 3
    assert Creator.objects.values("category").distinct().count() >= 5
    assert Creator.objects.exclude(language="en").exists()


def test_grant_credits_command():
    user = UserFactory(email="ops@example.com")
    out, _ = run("grant_credits", "OPS@example.com", "40")
    assert "balance is now 40" in out
    assert CreditLedger.objects.get(user=user).delta == 40
    with pytest.raises(CommandError, match="no user"):
        run("grant_credits", "nobody@example.com", "5")
    with pytest.raises(CommandError, match="positive"):
        run("grant_credits", "ops@example.com", "0")


def test_analyze_creators_command_is_resumable_and_idempotent():
    CreatorFactory.create_batch(3)
    out, _ = run("analyze_creators", "--batch", "2", "--limit", "2")
    assert "2 creators" in out
    out, _ = run("analyze_creators", "--batch", "2")
    assert "1 creators" in out
    out, _ = run("analyze_creators")
    assert "0 creators" in out
    out, _ = run("analyze_creators", "--all")
    assert "3 creators" in out
