"""The admin pages staff use, in a real Chromium 1400 px wide: no page scrolls sideways.

A live `manage.py serve` (DEBUG off) on its own SQLite file with demo data and the long values
that used to stretch the tables (errors, titles, message bodies, captions). Screenshots land in
test-artifacts/admin/ (git-ignored). Runs once, in CI's PostgreSQL pass (the `postgres` mark), like
the other browser tests; the server here uses its own database file either way.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import pytest

from bench.core import free_port
from flashlearn.tests.live import ROOT, manage, project_env, running

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Chromium is not installed", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

WIDTH = 1400
ARTIFACTS = ROOT / "test-artifacts" / "admin"
EMAIL, PASSWORD = "staff@example.com", "staff password for screens 1"

STAGE = f"""
from datetime import timedelta
from django.utils import timezone
from accounts.models import AuthEvent, User
from calendars.models import CalendarConnection
from creators.models import Creator
from messaging.models import LiveSession, Message
staff = User.objects.create_superuser(email={EMAIL!r}, password={PASSWORD!r}, display_name="Staff " + "x" * 120)
long = "A very long error message from Google that used to stretch the table " * 6
for i in range(3):
    user = User.objects.create_user(email=f"someone.with.a.long.address{{i}}@calendar-users.example.com",
                                    password="member password 123", display_name="Member " + "y" * 100)
    CalendarConnection.objects.create(user=user, account_email=user.email, status="error", last_error=long,
                                      consecutive_failures=4, last_synced_at=timezone.now(),
                                      next_retry_at=timezone.now() + timedelta(minutes=5))
    session = LiveSession.objects.create(host=user, title="A live session title that goes on " * 5,
                                         status="live", started_at=timezone.now())
    Message.objects.create(session=session, author=user, body="A long chat message " * 30)
    AuthEvent.objects.create(kind="login_failed", email=user.email, detail="bad password " * 12)
"""

PAGES = [
    "/admin/",
    "/admin/accounts/user/",
    "/admin/accounts/user/{staff}/change/",
    "/admin/accounts/authevent/",
    "/admin/calendars/calendarconnection/",
    "/admin/calendars/calendarconnection/1/change/",
    "/admin/messaging/livesession/",
    "/admin/messaging/livesession/1/change/",
    "/admin/messaging/message/",
    "/admin/creators/creator/",
    "/admin/creators/creator/1/change/",
    "/admin/creators/creditledger/",
    "/admin/creators/creditledger/add/",
    "/admin/creators/creditaccount/",
]


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("admin-screens")
    env = project_env(
        DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false", CSRF_COOKIE_SECURE="false", LOG_LEVEL="WARNING",
        DATABASE_URL=f"sqlite:///{workdir / 'admin.sqlite3'}",
    )
    for command in (["migrate", "--noinput", "-v", "0"],
                    ["seed_demo", "--creators", "30", "--password", "demo password for screens"],
                    ["analyze_creators"], ["shell", "-c", STAGE]):
        result = manage(*command, env=env, timeout=300)
        assert result.returncode == 0, f"{command}: {result.stderr[-3000:]}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "manage.py", "serve", "--port", str(port)]
    with running(argv, env=env, ready_url=f"{base}/healthz", log=workdir / "server.log"):
        yield base


def test_admin_pages_fit_1400px_without_sideways_scrolling(admin_server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    too_wide = {}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.goto(f"{admin_server}/admin/login/?next=/admin/")
        page.fill('input[name="username"]', EMAIL)
        page.fill('input[name="password"]', PASSWORD)
        page.click('input[type="submit"]')
        page.wait_for_url(f"{admin_server}/admin/")
        staff_id = page.evaluate("""() => fetch('/admin/accounts/user/?q=staff%40example.com').then(r => r.text())
            .then(t => (t.match(/accounts\\/user\\/(\\d+)\\/change/) || [])[1])""")
        for path in PAGES:
            url = admin_server + path.format(staff=staff_id)
            response = page.goto(url)
            assert response.status == 200, url
            # The page itself, and any box inside it (the admin scrolls a wide results table in place);
            # not a <select>, whose long option names (Django's permission picker) scroll in the box.
            overflow = page.evaluate("""() => [document.documentElement, ...document.querySelectorAll(
                '#content *:not(select)')].filter(e => e.scrollWidth > e.clientWidth + 1 &&
                ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) || e === document.documentElement
                && e.scrollWidth > window.innerWidth).map(e => `${e.id || e.className || e.tagName}: ${e.scrollWidth}`
                + ` > ${e.clientWidth}`)""")
            name = path.strip("/").replace("/", "_").replace("{staff}", "user") or "index"
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            if overflow:
                too_wide[path] = overflow
        browser.close()
    assert too_wide == {}, f"pages wider than {WIDTH} px (screenshots in {ARTIFACTS}): {too_wide}"
