from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from creators import demo
from flashlearn.progress import progress_bar


class Command(BaseCommand):
    help = (
        "Build a deterministic demo set: N creators with posts, and a demo user "
        f"({demo.DEMO_EMAIL}) topped up with credits. Running it again adds only what is missing. "
        f"The demo user's password is --password, or {demo.DEMO_PASSWORD!r} for a new user when DEBUG "
        "is on; with DEBUG off --password is required (a known password must not reach a real deployment)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--creators", type=int, default=200, help="how many creators (default 200)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument("--batch", type=int, default=5_000, help="rows per insert batch (default 5000)")
        parser.add_argument("--no-posts", action="store_true", help="creators only, no posts")
        parser.add_argument("--credits", type=int, default=100, help="demo user's balance at least (default 100)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument("--password", help="set this password on the demo user (required with DEBUG off)")

    def handle(self, *args, **options):
        if options["creators"] < 0 or options["batch"] < 1 or options["credits"] < 0:
            raise CommandError("--creators and --credits must be >= 0 and --batch >= 1")
        password = options["password"]
        if password is None and not settings.DEBUG:
            raise CommandError(
                f"DEBUG is off: refusing to create {demo.DEMO_EMAIL} with the public demo password. "
                "Pass --password to choose one."
            )
        if password is not None:
            try:
                validate_password(password)
            except ValidationError as exc:
                raise CommandError("--password: " + " ".join(exc.messages)) from None
        started = time.monotonic()
        with progress_bar(total=options["creators"], unit="creator", stream=self.stderr,
                          enabled=not options["no_progress"]) as bar:
            result = demo.seed(
                creators=options["creators"], seed=options["seed"], batch_size=options["batch"],
                posts=not options["no_posts"], demo_credits=options["credits"], demo_password=password,
                on_batch=bar.update,
            )
        self.stdout.write(
            f"seed_demo: {result.creators_created} creators and {result.posts_created} posts created "
            f"in {time.monotonic() - started:.1f}s; demo user {result.demo_email} has {result.demo_balance} credits"
        )
        if result.demo_password is None:
            self.stdout.write("demo user password unchanged (pass --password to set one)")
        else:
            self.stdout.write(f"demo user password set to: {result.demo_password}")
