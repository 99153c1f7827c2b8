"""Run as a subprocess by test_degradation.py with DATABASE_URL pointing at a closed port.

Requests every creators route through the full Django stack and prints what came back as JSON.
"""

import json

ROUTES = [
    ("get", "/api/v1/simple/creator/search?q=yoga"),
    ("get", "/api/v1/simple/creator/search/"),
    ("get", "/api/v1/simple/creator/1"),
    ("post", "/api/v1/simple/creator/1/unlock"),
    ("get", "/api/v1/simple/creator/unlocked"),
    ("get", "/api/v1/simple/creator/system/stats"),
    ("get", "/api/v1/credits"),
]


def main() -> None:
    import django

    django.setup()
    from django.test import Client
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User

    token = str(AccessToken.for_user(User(pk=1, email="ada@example.com")))  # unsaved: needs no database
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    answers = []
    for method, url in ROUTES:
        response = getattr(client, method)(url)
        answers.append({
            "route": f"{method.upper()} {url}",
            "status": response.status_code,
            "retry_after": response.headers.get("Retry-After"),
            "body": json.loads(response.content or b"null"),
        })
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
