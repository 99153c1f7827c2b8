"""A stand-in for Google's OAuth 2.0 and Calendar v3 endpoints: a real HTTP server on 127.0.0.1.

Written from Google's documentation, so the production client runs unchanged against it:
- OAuth 2.0 for web servers (https://developers.google.com/identity/protocols/oauth2/web-server):
  `GET /o/oauth2/auth` consents at once and redirects with `code` and `state`; `POST /token` serves
  the `authorization_code` grant (redirect URI and PKCE S256 checked, codes single-use) and the
  `refresh_token` grant (`invalid_grant` for revoked tokens, optional rotation); `POST /revoke`.
- Calendar v3 events.list (https://developers.google.com/calendar/api/v3/reference/events/list and
  the sync guide): `maxResults` (default 250, max 2500), `pageToken` bound to the query that made
  it, `nextSyncToken` only on the last page, `syncToken` refused together with timeMin/timeMax/q/
  orderBy/updatedMin/iCalUID, deleted events always in incremental results, `showDeleted` for full
  listings, `410 fullSyncRequired` for an invalidated sync token, `timeMin`/`timeMax` overlap.
- events.watch and channels.stop (https://developers.google.com/calendar/api/guides/push).
Errors can be injected per endpoint (403 rateLimitExceeded, 429 with Retry-After, 5xx, 401), and
every request is logged for assertions.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

CLIENT_ID = "fake-client-id.apps.googleusercontent.com"
CLIENT_SECRET = "fake-client-secret"
FORBIDDEN_WITH_SYNC_TOKEN = ("timeMin", "timeMax", "q", "orderBy", "updatedMin", "iCalUID")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _unb64(value: str) -> dict:
    padded = value + "=" * (-len(value) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode()))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def google_error(code: int, reason: str, message: str, domain: str = "global") -> dict:
    return {"error": {"code": code, "message": message,
                      "errors": [{"domain": domain, "reason": reason, "message": message}]}}


@dataclass
class Injected:
    status: int
    body: dict | None = None
    headers: dict = field(default_factory=dict)
    times: int = 1
    after: int = 0  # let this many calls through first


@dataclass
class Event:
    id: str
    summary: str
    start: datetime | None
    end: datetime | None
    seq: int
    all_day: bool = False
    status: str = "confirmed"
    description: str = ""
    location: str = ""
    recurring_event_id: str = ""
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))

    def resource(self) -> dict:
        if self.status == "cancelled":
            return {"kind": "calendar#event", "etag": f'"{self.seq}"', "id": self.id, "status": "cancelled"}
        if self.all_day:
            start, end = {"date": self.start.date().isoformat()}, {"date": self.end.date().isoformat()}
        else:
            start = {"dateTime": _rfc3339(self.start), "timeZone": "UTC"}
            end = {"dateTime": _rfc3339(self.end), "timeZone": "UTC"}
        out = {
            "kind": "calendar#event", "etag": f'"{self.seq}"', "id": self.id, "status": self.status,
            "htmlLink": f"https://www.google.com/calendar/event?eid={self.id}", "summary": self.summary,
            "description": self.description, "location": self.location, "updated": _rfc3339(self.updated),
            "start": start, "end": end, "iCalUID": f"{self.id}@google.com",
        }
        if self.recurring_event_id:
            out["recurringEventId"] = self.recurring_event_id
        return out


@dataclass
class Calendar:
    owner: str
    events: dict[str, Event] = field(default_factory=dict)
    seq: int = 0
    epoch: int = 0
    changes: dict[int, str] = field(default_factory=dict)  # seq -> id of the event changed then
    resource_id: str = field(default_factory=lambda: secrets.token_hex(12))


class FakeGoogle:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fake-google", daemon=True)
        self.reset()

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> FakeGoogle:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        with self.lock:
            self.calendars: dict[str, Calendar] = {}
            self.codes: dict[str, dict] = {}
            self.refresh_tokens: dict[str, dict] = {}
            self.access_tokens: dict[str, dict] = {}
            self.channels: dict[str, dict] = {}
            self.injected: dict[str, list[Injected]] = {}
            self.requests: list[dict] = []
            self.answered: list[str] = []  # endpoints in the order their answers were ready
            self.delays: dict[str, float] = {}  # endpoint -> seconds to wait before answering (a slow Google)
            self.rotate_refresh_tokens = False
            self.consent_email = "ada.google@example.com"
            self.consent_scopes: list[str] | None = None  # None: what was asked for
            self.deny_consent = False
            self.token_delay = 0.0
            self.access_token_ttl = 3599
            self.expire_tokens_after_list_calls: int | None = None
            self._event_counter = 0

    # --- test controls ---------------------------------------------------------------
    def account(self, email: str) -> Calendar:
        with self.lock:
            return self.calendars.setdefault(email, Calendar(owner=email))

    def issue_tokens(self, email: str, *, expires_in: int | None = None) -> tuple[str, str]:
        """Tokens as if `email` had consented (for tests that start from a stored connection)."""
        with self.lock:
            self.account(email)
            refresh = "1//" + secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = {"email": email, "revoked": False,
                                            "scope": "https://www.googleapis.com/auth/calendar.readonly"}
            return self._new_access_token(refresh, expires_in), refresh

    def _new_access_token(self, refresh: str, expires_in: int | None = None) -> str:
        token = "ya29." + secrets.token_urlsafe(32)
        ttl = self.access_token_ttl if expires_in is None else expires_in
        self.access_tokens[token] = {"email": self.refresh_tokens[refresh]["email"], "refresh": refresh,
                                     "expires": time.time() + ttl}
        return token

    def _next_id(self) -> str:
        self._event_counter += 1
        return f"evt{self._event_counter:08d}{secrets.token_hex(2)}"

    def add_event(self, email: str, *, summary: str = "Event", start: datetime | None = None,
                  duration: timedelta = timedelta(hours=1), all_day: bool = False, event_id: str | None = None,
                  recurring_event_id: str = "", **extra) -> Event:
        with self.lock:
            calendar = self.account(email)
            start = start or datetime.now(UTC) + timedelta(days=1)
            calendar.seq += 1
            event = Event(id=event_id or self._next_id(), summary=summary, start=start, end=start + duration,
                          seq=calendar.seq, all_day=all_day, recurring_event_id=recurring_event_id, **extra)
            calendar.events[event.id] = event
            calendar.changes[event.seq] = event.id
            return event

    def add_events(self, email: str, count: int, *, start: datetime | None = None) -> list[Event]:
        start = start or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        return [self.add_event(email, summary=f"Event {n}", start=start + timedelta(hours=n % 2000))
                for n in range(count)]

    def update_event(self, email: str, event_id: str, **changes) -> Event:
        with self.lock:
            calendar = self.account(email)
            event = calendar.events[event_id]
            for name, value in changes.items():
                setattr(event, name, value)
            calendar.seq += 1
            event.seq = calendar.seq
            calendar.changes[event.seq] = event.id
            event.updated = datetime.now(UTC)
            return event

    def delete_event(self, email: str, event_id: str) -> None:
        self.update_event(email, event_id, status="cancelled")

    def invalidate_sync_tokens(self, email: str) -> None:
        with self.lock:
            self.account(email).epoch += 1

    def revoke_all(self, email: str) -> None:
        with self.lock:
            for info in self.refresh_tokens.values():
                if info["email"] == email:
                    info["revoked"] = True
            for token, info in list(self.access_tokens.items()):
                if info["email"] == email:
                    del self.access_tokens[token]

    def expire_access_tokens(self) -> None:
        with self.lock:
            for info in self.access_tokens.values():
                info["expires"] = 0

    def inject(self, endpoint: str, status: int, *, reason: str = "", headers: dict | None = None,
               times: int = 1, body: dict | None = None, after: int = 0) -> None:
        """Answer `times` calls of `endpoint` (events.list, events.watch, channels.stop, token, revoke)
        with `status`, before any other check, once `after` calls have gone through normally."""
        if body is None:
            message = {403: "Rate Limit Exceeded", 429: "Too Many Requests", 401: "Invalid Credentials"}.get(
                status, "Backend Error")
            default_reason = {403: "rateLimitExceeded", 429: "rateLimitExceeded", 401: "authError"}.get(
                status, "backendError")
            body = google_error(status, reason or default_reason, message,
                                domain="usageLimits" if status in (403, 429) else "global")
        with self.lock:
            self.injected.setdefault(endpoint, []).append(Injected(status, body, headers or {}, times, after))

    def calls(self, endpoint: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["endpoint"] == endpoint]

    # --- request handling ------------------------------------------------------------
    def _take_injected(self, endpoint: str) -> Injected | None:
        queue = self.injected.get(endpoint) or []
        if not queue:
            return None
        head = queue[0]
        if head.after > 0:
            head.after -= 1
            return None
        head.times -= 1
        if head.times <= 0:
            queue.pop(0)
        return head

    def handle(self, method: str, raw_path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        parts = urlsplit(raw_path)
        path, query = parts.path, {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        endpoint = self._endpoint(method, path)
        form = {}
        payload = None
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        elif body:
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
        with self.lock:
            self.requests.append({"endpoint": endpoint, "method": method, "path": path, "query": query,
                                  "form": form, "json": payload, "headers": headers})
            injected = self._take_injected(endpoint)
        delay = self.delays.get(endpoint, 0.0)
        if delay:
            time.sleep(delay)
        answer = self._answer(endpoint, injected, method, path, query, form, payload, headers)
        with self.lock:
            self.answered.append(endpoint)
        return answer

    def _answer(self, endpoint: str, injected: Injected | None, method: str, path: str, query: dict, form: dict,
                payload, headers: dict) -> tuple[int, dict, bytes]:
        if injected:
            return injected.status, injected.headers, json.dumps(injected.body).encode()
        if endpoint == "token" and self.token_delay:
            time.sleep(self.token_delay)  # a slow token endpoint widens refresh races on purpose
        with self.lock:
            handler = {
                "auth": lambda: self._authorize(query),
                "token": lambda: self._token(form, headers),
                "revoke": lambda: self._revoke(form or query),
                "events.list": lambda: self._events_list(path, query, headers),
                "events.watch": lambda: self._events_watch(path, payload or {}, headers),
                "channels.stop": lambda: self._channels_stop(payload or {}, headers),
                "calendars.get": lambda: self._calendar_get(path, headers),
            }.get(endpoint)
            if handler is None:
                return self._json(404, google_error(404, "notFound", "Not Found"))
            return handler()

    @staticmethod
    def _endpoint(method: str, path: str) -> str:
        if path == "/o/oauth2/auth":
            return "auth"
        if path == "/token" and method == "POST":
            return "token"
        if path == "/revoke" and method == "POST":
            return "revoke"
        if path == "/calendar/v3/channels/stop" and method == "POST":
            return "channels.stop"
        if path.startswith("/calendar/v3/calendars/"):
            if path.endswith("/events/watch") and method == "POST":
                return "events.watch"
            if path.endswith("/events") and method == "GET":
                return "events.list"
            if method == "GET" and path.count("/") == 4:
                return "calendars.get"
        return "unknown"

    @staticmethod
    def _json(status: int, body: dict | None, headers: dict | None = None) -> tuple[int, dict, bytes]:
        return status, {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}, (
            json.dumps(body).encode() if body is not None else b"")

    # OAuth ------------------------------------------------------------------------------
    def _authorize(self, query: dict) -> tuple[int, dict, bytes]:
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return self._json(400, {"error": "invalid_request"})
        redirect_uri = query.get("redirect_uri", "")
        if self.deny_consent:
            location = f"{redirect_uri}?{urlencode({'error': 'access_denied', 'state': query.get('state', '')})}"
            return 302, {"Location": location}, b""
        code = "4/" + secrets.token_urlsafe(24)
        scopes = self.consent_scopes if self.consent_scopes is not None else query.get("scope", "").split()
        self.codes[code] = {"redirect_uri": redirect_uri, "challenge": query.get("code_challenge"),
                            "method": query.get("code_challenge_method"), "email": self.consent_email,
                            "scopes": scopes, "used": False, "access_type": query.get("access_type")}
        self.account(self.consent_email)
        answer = {"state": query.get("state", ""), "code": code, "scope": " ".join(scopes)}
        location = f"{redirect_uri}?{urlencode(answer)}"
        return 302, {"Location": location}, b""

    def _client_ok(self, form: dict, headers: dict) -> bool:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
        return client_id == CLIENT_ID and secret == CLIENT_SECRET

    def _token(self, form: dict, headers: dict) -> tuple[int, dict, bytes]:
        if not self._client_ok(form, headers):
            return self._json(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        grant = form.get("grant_type")
        invalid = self._json(400, {"error": "invalid_grant", "error_description": "Bad Request"})
        if grant == "authorization_code":
            info = self.codes.get(form.get("code", ""))
            if not info or info["used"] or info["redirect_uri"] != form.get("redirect_uri"):
                return invalid
            info["used"] = True
            verifier = form.get("code_verifier", "")
            expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if info["challenge"] and (info["method"] != "S256" or expected != info["challenge"]):
                return self._json(400, {"error": "invalid_grant", "error_description": "Invalid code verifier."})
            refresh = "1//" + secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = {"email": info["email"], "revoked": False,
                                            "scope": " ".join(info["scopes"])}
            answer = {"access_token": self._new_access_token(refresh), "expires_in": self.access_token_ttl,
                      "scope": " ".join(info["scopes"]), "token_type": "Bearer"}
            if info["access_type"] == "offline":
                answer["refresh_token"] = refresh
            if "openid" in info["scopes"]:
                answer["id_token"] = self._id_token(info["email"])
            return self._json(200, answer)
        if grant == "refresh_token":
            info = self.refresh_tokens.get(form.get("refresh_token", ""))
            if not info or info["revoked"]:
                return self._json(400, {"error": "invalid_grant",
                                        "error_description": "Token has been expired or revoked."})
            refresh = form["refresh_token"]
            answer = {"access_token": self._new_access_token(refresh), "expires_in": self.access_token_ttl,
                      "scope": info["scope"], "token_type": "Bearer"}
            if self.rotate_refresh_tokens:
                info["revoked"] = True
                new_refresh = "1//" + secrets.token_urlsafe(32)
                self.refresh_tokens[new_refresh] = {**info, "revoked": False}
                for access in self.access_tokens.values():
                    if access["refresh"] == refresh:
                        access["refresh"] = new_refresh
                answer["refresh_token"] = new_refresh
            return self._json(200, answer)
        return self._json(400, {"error": "unsupported_grant_type"})

    @staticmethod
    def _id_token(email: str) -> str:
        now = int(time.time())
        header = {"alg": "RS256", "kid": "fake", "typ": "JWT"}
        claims = {"iss": "https://accounts.google.com", "aud": CLIENT_ID,
                  "sub": hashlib.sha256(email.encode()).hexdigest()[:21], "email": email, "email_verified": True,
                  "iat": now, "exp": now + 3600}
        signature = base64.urlsafe_b64encode(b"not-a-real-signature").decode().rstrip("=")
        return f"{_b64(header)}.{_b64(claims)}.{signature}"

    def _revoke(self, form: dict) -> tuple[int, dict, bytes]:
        token = form.get("token", "")
        if token in self.refresh_tokens and not self.refresh_tokens[token]["revoked"]:
            self.refresh_tokens[token]["revoked"] = True
            for access, info in list(self.access_tokens.items()):
                if info["refresh"] == token:
                    del self.access_tokens[access]
            return self._json(200, {})
        if token in self.access_tokens:
            refresh = self.access_tokens.pop(token)["refresh"]
            if refresh in self.refresh_tokens:
                self.refresh_tokens[refresh]["revoked"] = True
            return self._json(200, {})
        return self._json(400, {"error": "invalid_token", "error_description": "Token expired or revoked"})

    # Calendar v3 ------------------------------------------------------------------------
    def _bearer_email(self, headers: dict) -> str | None:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return None
        info = self.access_tokens.get(auth[7:])
        if not info or info["expires"] <= time.time():
            return None
        return info["email"]

    def _unauthorized(self):
        body = {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                          "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError",
                                      "location": "Authorization", "locationType": "header"}],
                          "status": "UNAUTHENTICATED"}}
        return self._json(401, body, {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})

    def _calendar_for(self, path: str, email: str) -> Calendar | None:
        calendar_id = unquote(path.split("/")[4])
        if calendar_id in ("primary", email):
            return self.account(email)
        return None

    def _calendar_get(self, path: str, headers: dict):
        email = self._bearer_email(headers)
        if email is None:
            return self._unauthorized()
        if self._calendar_for(path, email) is None:
            return self._json(404, google_error(404, "notFound", "Not Found"))
        return self._json(200, {"kind": "calendar#calendar", "id": email, "summary": email, "timeZone": "UTC"})

    def _events_list(self, path: str, query: dict, headers: dict):
        email = self._bearer_email(headers)
        if email is None:
            return self._unauthorized()
        if self.expire_tokens_after_list_calls is not None:
            self.expire_tokens_after_list_calls -= 1
            if self.expire_tokens_after_list_calls <= 0:
                self.expire_tokens_after_list_calls = None
                self.expire_access_tokens()  # this call still succeeds; the next one sees 401
        calendar = self._calendar_for(path, email)
        if calendar is None:
            return self._json(404, google_error(404, "notFound", "Not Found"))
        bad = lambda message: self._json(400, google_error(400, "invalid", message))  # noqa: E731
        try:
            max_results = min(int(query.get("maxResults", 250)), 2500)
        except ValueError:
            return bad("Invalid maxResults")
        if max_results < 1:
            return bad("Invalid maxResults")
        signature_query = {k: v for k, v in query.items() if k not in ("pageToken", "maxResults")}
        signature = hashlib.sha256(json.dumps(signature_query, sort_keys=True).encode()).hexdigest()[:16]
        sync_token = query.get("syncToken")
        if sync_token and any(name in query for name in FORBIDDEN_WITH_SYNC_TOKEN):
            return bad("Sync token cannot be used with timeMin, timeMax, q, orderBy, updatedMin or iCalUID.")
        since = None
        if sync_token:
            try:
                token = _unb64(sync_token)
            except (ValueError, TypeError):
                return bad("Invalid sync token value.")
            if token.get("e") != calendar.epoch:
                return self._json(410, google_error(410, "fullSyncRequired",
                                                    "Sync token is no longer valid, a full sync is required."))
            since = int(token["s"])
        if query.get("pageToken"):
            try:
                page = _unb64(query["pageToken"])
            except (ValueError, TypeError):
                return bad("Invalid page token value.")
            if page.get("q") != signature:
                return bad("Invalid page token: the query changed.")
            snapshot, after_id = int(page["s"]), page["a"]
        else:
            snapshot, after_id = calendar.seq, ""
        time_min = _parse_time(query["timeMin"]) if query.get("timeMin") else None
        time_max = _parse_time(query["timeMax"]) if query.get("timeMax") else None
        show_deleted = query.get("showDeleted") == "true" or since is not None

        def selected(event: Event) -> bool:
            if event.seq > snapshot or event.id <= after_id:
                return False
            if since is not None:
                return event.seq > since
            if event.status == "cancelled" and not show_deleted:
                return False
            if event.status != "cancelled":
                if time_min and event.end <= time_min:
                    return False
                if time_max and event.start >= time_max:
                    return False
            return True

        if since is not None:  # only what changed: the change log, not every event
            candidates = {calendar.changes[n] for n in range(since + 1, snapshot + 1) if n in calendar.changes}
            pool = (calendar.events[i] for i in candidates if i in calendar.events)
        else:
            pool = calendar.events.values()
        chosen = sorted((e for e in pool if selected(e)), key=lambda e: e.id)
        items = chosen[:max_results]
        answer = {"kind": "calendar#events", "etag": f'"{snapshot}"', "summary": email,
                  "updated": _rfc3339(datetime.now(UTC)), "timeZone": "UTC", "accessRole": "owner",
                  "defaultReminders": [], "items": [e.resource() for e in items]}
        if len(chosen) > max_results:
            answer["nextPageToken"] = _b64({"s": snapshot, "a": items[-1].id, "q": signature})
        else:
            answer["nextSyncToken"] = _b64({"s": snapshot, "e": calendar.epoch})
        return self._json(200, answer)

    def _events_watch(self, path: str, body: dict, headers: dict):
        email = self._bearer_email(headers)
        if email is None:
            return self._unauthorized()
        calendar = self._calendar_for(path, email)
        if calendar is None:
            return self._json(404, google_error(404, "notFound", "Not Found"))
        if body.get("type") != "web_hook" or not body.get("id"):
            return self._json(400, google_error(400, "invalid", "Invalid channel"))
        if not str(body.get("address", "")).startswith("https://"):
            return self._json(400, google_error(400, "push.webhookUrlNotHttps", "WebHook callback must be HTTPS"))
        if body["id"] in self.channels:
            return self._json(400, google_error(400, "channelIdNotUnique", "Channel id not unique"))
        ttl = int((body.get("params") or {}).get("ttl", 604800))
        expiration = int((time.time() + min(ttl, 2592000)) * 1000)
        self.channels[body["id"]] = {"resourceId": calendar.resource_id, "token": body.get("token", ""),
                                     "address": body["address"], "expiration": expiration, "email": email,
                                     "stopped": False}
        return self._json(200, {"kind": "api#channel", "id": body["id"], "resourceId": calendar.resource_id,
                                "resourceUri": f"{self.base_url}{path[:-len('/watch')]}?alt=json",
                                "token": body.get("token", ""), "expiration": str(expiration)})

    def _channels_stop(self, body: dict, headers: dict):
        if self._bearer_email(headers) is None:
            return self._unauthorized()
        channel = self.channels.get(body.get("id", ""))
        if not channel or channel["resourceId"] != body.get("resourceId") or channel["stopped"]:
            return self._json(404, google_error(404, "notFound", "Channel not found"))
        channel["stopped"] = True
        return 204, {}, b""


def _handler_for(fake: FakeGoogle):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out_headers, payload = fake.handle(self.command, self.path, headers, body)
            self.send_response(status)
            for name, value in out_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format, *args):  # noqa: A002 - quiet test output
            pass

    return Handler
