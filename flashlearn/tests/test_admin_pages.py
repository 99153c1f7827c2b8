"""The admin as staff use it, through Django's test client on the rendered HTML: the header, the index
numbers and their links, columns that fit 1400 px, read-only pages without Save or Delete."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.utils import timezone

# A 1400 px window leaves ~1000 px beside the admin's navigation sidebar: about 8 columns of dates,
# names and short cells. Long text is cut by flashlearn.admin_pages.truncated (full value on hover).
MAX_COLUMNS = 8
WIDE_PAGES = [
    "accounts.User", "accounts.AuthEvent", "calendars.CalendarConnection", "messaging.LiveSession",
    "messaging.Message", "creators.Creator", "creators.CreditLedger",
]


def model_admin(label: str):
    from django.apps import apps

    return admin.site.get_model_admin(apps.get_model(label))


@pytest.mark.parametrize("label", WIDE_PAGES)
def test_list_pages_choose_few_enough_columns_to_fit_1400px(label):
    assert len(model_admin(label).list_display) <= MAX_COLUMNS


def test_long_text_cells_are_cut_with_the_full_value_on_hover():
    from flashlearn.admin_pages import truncated

    cell = str(truncated("x" * 500 + " <b>", 40))
    assert cell.startswith('<span title="') and "&lt;b&gt;" in cell and "<b>" not in cell
    visible = re.sub(r"<[^>]+>", "", cell)
    assert len(visible) <= 40


@pytest.mark.django_db
def test_header_says_flashlearn_admin(staff_client):
    html = staff_client.get("/admin/").content.decode()
    assert "Flashlearn admin" in html
    assert "Django administration" not in html


@pytest.mark.django_db
def test_index_shows_the_staff_numbers_each_linking_to_its_filtered_list(staff_client, staff):
    from accounts.models import AuthEvent
    from calendars.models import CalendarConnection
    from creators import services
    from messaging.models import LiveSession

    LiveSession.objects.create(host=staff, title="now", status=LiveSession.Status.LIVE)
    LiveSession.objects.create(host=staff, title="later")
    CalendarConnection.objects.create(user=staff, account_email="a@example.com",
                                      status=CalendarConnection.Status.NEEDS_REAUTH)
    services.credits_grant(user=staff, amount=7, actor=staff)
    services.credits_grant(user=staff, amount=5, actor=staff)
    AuthEvent.objects.create(kind=AuthEvent.Kind.LOGIN_FAILED, email="x@example.com")
    old = AuthEvent.objects.create(kind=AuthEvent.Kind.LOGIN_FAILED, email="y@example.com")
    AuthEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))

    html = staff_client.get("/admin/").content.decode()
    numbers = dict(re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>\s*<td[^>]*>'
                              r'<a href="[^"]+" class="staff-number">(\d+)</a>', html))
    assert numbers == {
        "Live sessions now": "1", "Calendars needing reconnection": "1", "Calendars failing to sync": "0",
        "Calendar syncs in the last hour": "0", "Credits granted today": "12",
        "Sign-in failures in the last hour": "1",
    }
    links = re.findall(r'<a href="([^"]+)" class="staff-number">', html)
    assert len(links) == 6
    for url in links:  # each opens its list, filtered (an unknown lookup would redirect with ?e=1)
        response = staff_client.get(url.replace("&amp;", "&"))
        assert response.status_code == 200, url  # 302 to ?e=1 when the admin refuses a lookup
    live_link = re.search(r'<a href="([^"]+)">Live sessions now</a>', html).group(1)
    live = staff_client.get(live_link.replace("&amp;", "&")).content.decode()
    assert "now" in live and ">later<" not in live


@pytest.mark.django_db
@pytest.mark.parametrize("label", ["calendars.CalendarConnection", "calendars.PushChannel",
                                   "creators.CreditAccount", "creators.CreditLedger", "creators.Unlock",
                                   "accounts.AuthEvent"])
def test_read_only_pages_have_no_save_and_nothing_deletes(staff_client, staff, label):
    from django.apps import apps

    from accounts.models import AuthEvent
    from calendars.models import CalendarConnection, CalendarSyncState, PushChannel
    from creators import services
    from creators.models import Creator, CreditAccount, CreditLedger, Unlock

    services.credits_grant(user=staff, amount=3, actor=staff)
    connection = CalendarConnection.objects.create(user=staff, account_email="a@example.com")
    creator = Creator.objects.create(platform="instagram", handle="someone")
    objects = {
        "calendars.CalendarConnection": connection,
        "calendars.PushChannel": PushChannel.objects.create(
            calendar=CalendarSyncState.objects.create(connection=connection, calendar_id="primary"),
            channel_id="c1", resource_id="r1", token="t", expires_at=timezone.now()),
        "creators.CreditAccount": CreditAccount.objects.get(user=staff),
        "creators.CreditLedger": CreditLedger.objects.get(user=staff),
        "creators.Unlock": Unlock.objects.create(user=staff, creator=creator, credits_spent=1),
        "accounts.AuthEvent": AuthEvent.objects.create(kind=AuthEvent.Kind.LOGIN_FAILED, email="x@example.com"),
    }
    obj = objects[label]
    model = apps.get_model(label)
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{obj.pk}/change/"
    html = staff_client.get(url).content.decode()
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert "deletelink" not in html
    assert staff_client.get(url.replace("/change/", "/delete/")).status_code == 403
    changelist = staff_client.get(f"/admin/{model._meta.app_label}/{model._meta.model_name}/").content.decode()
    assert 'value="delete_selected"' not in changelist


@pytest.mark.django_db
def test_live_session_status_host_and_timestamps_are_read_only(staff_client, staff):
    from accounts.models import User
    from messaging.models import LiveSession

    session = LiveSession.objects.create(host=staff, title="Intro", status=LiveSession.Status.SCHEDULED)
    url = f"/admin/messaging/livesession/{session.pk}/change/"
    html = staff_client.get(url).content.decode()
    for field in ("status", "host", "started_at", "ended_at", "scheduled_for"):
        assert f'name="{field}' not in html, field
    other = User.objects.create_user(email="other@example.com", password="other password 1")
    response = staff_client.post(url, {
        "title": "Renamed", "description": "", "visibility": "private", "status": "live", "host": other.pk,
        "started_at_0": "2026-01-01", "started_at_1": "10:00:00",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    session.refresh_from_db()
    assert session.title == "Renamed"
    assert (session.status, session.host_id, session.started_at) == (LiveSession.Status.SCHEDULED, staff.pk, None)
