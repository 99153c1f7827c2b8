"""The web client at /app/ in a real Chromium against a live `manage.py serve`: two daphne workers on
PostgreSQL and Redis, DEBUG off, production settings. Host and guest are separate browser contexts
(separate storage, separate sockets, possibly separate worker processes).

Screenshots of every step land in test-artifacts/browser/<test>/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from bench.core import free_port
from flashlearn.tests.live import ROOT, project_env, running
from transcription.tests.speech import SENTENCES, missing_tools, wer

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements.txt)")
expect = sync_api.expect

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

# The server writes to the test database; the transactional mark empties it after each test.
pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CLIENT_DIR = ROOT / "flashlearn" / "static" / "app"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
PASSWORD = "a-long-passphrase-4-tests"
SPOKEN = SENTENCES[0]  # "Please open the door for me."
WAIT_MS = 20_000  # the longest a step may take on a loaded 2-core machine
CAPTION_WAIT_MS = 150_000  # the model loads in the worker on the first audio socket


# --- the stage: API server, front-end servers on other origins, one Chromium ----------------


class FrontEnd:
    """A static server on another port serving the client as a front-end team would deploy it: the same
    files, with the API's address in the page's `flashlearn-api` meta tag."""

    def __init__(self, api_base: str):
        page = (CLIENT_DIR / "index.html").read_text()
        meta = '<meta name="flashlearn-api" content="{}">'
        page = page.replace(meta.format(""), meta.format(api_base))
        assert api_base in page
        self.port = free_port()
        self.origin = f"http://localhost:{self.port}"  # localhost: not one of the API's ALLOWED_HOSTS

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?")[0].split("#")[0]
                if path in ("/app", "/app/"):
                    body, kind = page.encode(), "text/html; charset=utf-8"
                elif path.startswith("/static/app/") and (CLIENT_DIR / path.rsplit("/", 1)[1]).is_file():
                    name = path.rsplit("/", 1)[1]
                    body = (CLIENT_DIR / name).read_bytes()
                    kind = "text/css" if name.endswith(".css") else "text/javascript"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Stage:
    def __init__(self, port: int, listed: FrontEnd, unlisted: FrontEnd):
        self.base = f"http://127.0.0.1:{port}"
        self.listed = listed
        self.unlisted = unlisted


@pytest.fixture(scope="module")
def stage(django_db_setup, tmp_path_factory):
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    database_url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    port = free_port()
    api_base = f"http://127.0.0.1:{port}"
    listed, unlisted = FrontEnd(api_base), FrontEnd(api_base)
    env = project_env(
        DEBUG="false", SECRET_KEY="browser-test-" + uuid.uuid4().hex + "s" * 20, ALLOWED_HOSTS="127.0.0.1",
        CORS_ALLOWED_ORIGINS=listed.origin, SECURE_SSL_REDIRECT="false", DATABASE_URL=database_url,
        REDIS_URL=settings.REDIS_URL, REDIS_PREFIX=f"{settings.REDIS_PREFIX}-browser-{uuid.uuid4().hex[:8]}",
        WEB_CONCURRENCY="2", LOG_LEVEL="WARNING", DOTENV_FILE="",
    )
    log = tmp_path_factory.mktemp("browser") / "serve.log"
    argv = [sys.executable, "manage.py", "serve", "--port", str(port)]
    try:
        with running(argv, env=env, ready_url=f"{api_base}/healthz", log=log) as server:
            yield Stage(port, listed, unlisted)
            assert server.proc.poll() is None, server.output()[-4000:]
    finally:
        listed.close()
        unlisted.close()


def speech_wav(directory: Path) -> Path | None:
    """The sentence at 48 kHz (what a microphone gives; the page must downsample), with silence after it
    so the engine closes the utterance. Chromium loops the file."""
    if missing_tools():
        return None
    raw, wav = directory / "raw.wav", directory / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), SPOKEN], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", "48000", "-c", "1", "-b", "16", str(wav), "pad", "0.5", "2.5"], check=True,
                   capture_output=True)
    return wav


@pytest.fixture(scope="module")
def browser(stage, tmp_path_factory):
    wav = speech_wav(tmp_path_factory.mktemp("audio"))
    args = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    if wav:
        args.append(f"--use-file-for-fake-audio-capture={wav}")
    expect.set_options(timeout=WAIT_MS)
    # Playwright's sync API keeps an event loop running in this thread, so Django takes the test
    # database flush between tests for async code and refuses it; nothing async touches Django here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        chromium.spoken = wav is not None
        try:
            yield chromium
        finally:
            chromium.close()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


class Shots:
    def __init__(self, name: str):
        self.folder = ARTIFACTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.count = 0

    def __call__(self, page, step: str) -> None:
        self.count += 1
        page.screenshot(path=self.folder / f"{self.count:02d}-{step}.png")


@pytest.fixture
def shot(request):
    return Shots(request.node.name)


@pytest.fixture
def pages(browser):
    """New contexts for the test (own cookies and storage: two people), each page's errors collected."""
    contexts, errors = [], []

    def open_page(url: str, *, phone: bool = False):
        viewport = {"width": 390, "height": 800} if phone else {"width": 1100, "height": 800}
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        return page

    open_page.errors = errors
    yield open_page
    for context in contexts:
        context.close()
    assert not errors, errors


# --- what a person does -----------------------------------------------------------------------


def sign_up(page, name: str) -> None:
    page.get_by_label("Email").fill(f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Display name (new accounts)").fill(name)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#me")).to_have_text(name)


def host_creates_session(pages, stage, shot, title: str):
    host = pages(f"{stage.base}/app/")
    expect(page_heading(host, "Sign in")).to_be_visible()
    sign_up(host, "Hana")
    host.get_by_label("New session title").fill(title)
    host.get_by_role("button", name="Create").click()
    expect(host.locator("#session-title")).to_have_text(title)
    expect(host.locator("#conn")).to_have_text("connected")
    shot(host, "host-created-session")
    invite = host.get_by_label("Invite link").input_value()
    assert invite.startswith(f"{stage.base}/app/#join=")
    return host, invite


def guest_joins(pages, invite: str, shot, *, phone: bool = False):
    guest = pages(invite, phone=phone)
    sign_up(guest, "Gus")
    expect(guest.locator("#conn")).to_have_text("connected")
    expect(guest.locator("#invite")).to_be_hidden()  # only the host sees the invite code
    shot(guest, "guest-joined")
    return guest


def page_heading(page, text: str):
    return page.get_by_role("heading", name=text)


def send(page, text: str) -> None:
    page.get_by_role("textbox", name="Message").fill(text)
    page.get_by_role("textbox", name="Message").press("Enter")  # the keyboard, not a click


def delivered(page):
    """Messages the server has confirmed (pending ones have no id yet)."""
    return page.locator("#messages li[data-id] .body")


def message_texts(page) -> list[str]:
    return delivered(page).all_text_contents()


# --- the cases ---------------------------------------------------------------------------------


def test_host_and_guest_chat_both_ways_and_see_typing_and_presence(pages, stage, shot):
    host, invite = host_creates_session(pages, stage, shot, "Chemistry revision")
    guest = guest_joins(pages, invite, shot, phone=True)  # phone width: everything still reachable

    expect(host.locator("#presence")).to_contain_text("Gus")
    expect(guest.locator("#presence")).to_contain_text("Hana")
    shot(host, "host-sees-guest-online")

    guest.get_by_role("textbox", name="Message").press_sequentially("Hello from", delay=30)
    expect(host.locator("#typing")).to_have_text("Gus is typing…")
    shot(host, "host-sees-guest-typing")
    guest.get_by_role("textbox", name="Message").press_sequentially(" the guest")
    guest.get_by_role("textbox", name="Message").press("Enter")
    expect(host.locator("#messages")).to_contain_text("Hello from the guest")
    expect(host.locator("#typing")).to_have_text("")
    expect(guest.locator("#messages li.pending")).to_have_count(0)  # the echo ended the pending state

    send(host, "Welcome, Gus")
    expect(guest.locator("#messages")).to_contain_text("Welcome, Gus")
    shot(guest, "guest-sees-host-message")
    assert message_texts(guest) == message_texts(host) == ["Hello from the guest", "Welcome, Gus"]

    # Unread: the host leaves the session, the guest writes, the host comes back later (a reload:
    # the tab's refresh token signs in again) and sees the count, which opening the session clears.
    host.get_by_role("button", name="← Sessions").click()
    expect(page_heading(host, "My sessions")).to_be_visible()
    expect(guest.locator("#presence")).not_to_contain_text("Hana")
    send(guest, "Are you there?")
    expect(guest.locator("#messages li.pending")).to_have_count(0)
    host.reload()
    expect(host.get_by_role("button", name="Chemistry revision · scheduled · 1 unread")).to_be_visible()
    shot(host, "host-sees-unread-count")
    host.get_by_role("button", name="Chemistry revision · scheduled · 1 unread").click()
    expect(host.locator("#messages")).to_contain_text("Are you there?")
    expect(host.locator("#unread")).to_be_hidden()  # read on sight: the server's count is 0 again
    host.get_by_role("button", name="← Sessions").click()
    expect(host.get_by_role("button", name="Chemistry revision · scheduled")).to_be_visible()


def test_guest_offline_misses_nothing_and_sees_nothing_twice(pages, stage, shot):
    host, invite = host_creates_session(pages, stage, shot, "Offline drill")
    guest = guest_joins(pages, invite, shot)
    send(host, "before")
    expect(guest.locator("#messages")).to_contain_text("before")

    guest.context.set_offline(True)
    expect(guest.locator("#conn")).to_have_text("offline")
    send(guest, "written offline")  # waits, pending, for the connection
    expect(guest.locator("#messages li.pending")).to_have_count(1)
    for text in ("one", "two", "three"):
        send(host, text)
    expect(host.locator("#messages li.pending")).to_have_count(0)
    shot(guest, "guest-offline")
    assert message_texts(guest) == ["before"]

    guest.context.set_offline(False)
    expect(guest.locator("#conn")).to_have_text("connected")
    expect(guest.locator("#messages li.pending")).to_have_count(0)
    expected = ["before", "one", "two", "three", "written offline"]
    expect(delivered(guest)).to_have_text(expected)
    expect(delivered(host)).to_have_text(expected)
    shot(guest, "guest-back-online")


def test_page_on_another_listed_origin_signs_in_and_chats(pages, stage, shot):
    host, invite = host_creates_session(pages, stage, shot, "Cross-origin")
    fragment = invite.split("#", 1)[1]
    guest = guest_joins(pages, f"{stage.listed.origin}/app/#{fragment}", shot)
    assert guest.url.startswith(stage.listed.origin)

    send(guest, "from the other origin")
    expect(host.locator("#messages")).to_contain_text("from the other origin")
    send(host, "heard you")
    expect(guest.locator("#messages")).to_contain_text("heard you")
    expect(host.locator("#presence")).to_contain_text("Gus")
    shot(guest, "cross-origin-chat")


@pytest.mark.speech
def test_host_speaks_and_the_guest_on_another_origin_reads_the_caption(browser, pages, stage, shot):
    if not browser.spoken:
        pytest.skip(missing_tools())
    host, invite = host_creates_session(pages, stage, shot, "Spoken")
    guest = guest_joins(pages, f"{stage.listed.origin}/app/#{invite.split('#', 1)[1]}", shot)

    host.get_by_role("button", name="Start microphone").click()
    expect(host.get_by_role("button", name="Stop microphone")).to_have_attribute("aria-pressed", "true")
    expect(host.locator("#mic-state")).to_have_text("Live: speak now.", timeout=CAPTION_WAIT_MS)
    shot(host, "host-microphone-live")
    # Chromium loops the file, and audio before `ready` is dropped: the first final may be the tail of
    # the sentence. Wait for one whole sentence.
    deadline = time.monotonic() + CAPTION_WAIT_MS / 1000
    finals: list[str] = []
    while time.monotonic() < deadline and not any(wer(SPOKEN, text) <= 0.35 for text in finals):
        guest.wait_for_timeout(500)
        finals = guest.locator("#captions p.final").all_text_contents()
    shot(guest, "guest-reads-caption")
    assert any(wer(SPOKEN, text) <= 0.35 for text in finals), finals

    host.get_by_role("button", name="Stop microphone").click()
    expect(host.locator("#mic-state")).to_have_text("Microphone stopped.")


def test_unlisted_origin_is_refused_by_the_api_and_the_websockets(pages, stage, shot):
    # A member with a session, made without a browser.
    def post(path: str, body: dict, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        request = urllib.request.Request(f"{stage.base}{path}", data=json.dumps(body).encode(), headers=headers)
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read())

    token = post("/api/v1/auth/signup", {"email": f"rest-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD})[
        "access"]
    session = post("/api/v1/live_sessions", {"title": "Origins"}, token)
    socket_url = f"ws://127.0.0.1:{stage.base.rsplit(':', 1)[1]}/ws/live_sessions/{session['id']}/"

    def try_socket(page) -> dict:
        return page.evaluate(
            """([url, token]) => new Promise((resolve) => {
                const ws = new WebSocket(url, ['bearer', token]);
                ws.onopen = () => { resolve({opened: true, protocol: ws.protocol}); ws.close(); };
                ws.onclose = (event) => resolve({opened: false, code: event.code});
            })""",
            [socket_url, token],
        )

    listed = pages(f"{stage.listed.origin}/app/")
    assert try_socket(listed) == {"opened": True, "protocol": "bearer"}

    stranger = pages(f"{stage.unlisted.origin}/app/")
    stranger.get_by_label("Email").fill("someone@example.com")
    stranger.get_by_label("Password").fill(PASSWORD)
    stranger.get_by_role("button", name="Sign in").click()
    expect(stranger.get_by_role("alert")).to_contain_text("this page's origin is not allowed")
    shot(stranger, "unlisted-origin-refused")
    assert try_socket(stranger) == {"opened": False, "code": 1006}
