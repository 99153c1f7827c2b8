from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from creators import demo
from flashlearn.progress import progress_bar


class Command(BaseCommand):
    help = (
        "Build a deterministic demo set: N creators with posts, and a demo user "
        f"({demo.DEMO_EMAIL}, password {demo.DEMO_PASSWORD!r}) topped up with credits. "
        "Running it again adds only what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--creators", type=int, default=200, help="how many creators (default 200)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument("--batch", type=int, default=5_000, help="rows per insert batch (default 5000)")
        parser.add_argument("--no-posts", action="store_true", help="creators only, no posts")
        parser.add_argument("--credits", type=int, default=100, help="demo user's balance at least (default 100)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        if options["creators"] < 0 or options["batch"] < 1 or options["credits"] < 0:
            raise CommandError("--creators and --credits must be >= 0 and --batch >= 1")
        started = time.monotonic()
        with progress_bar(total=options["creators"], unit="creator", stream=self.stderr,
                          enabled=not options["no_progress"]) as bar:
            result = demo.seed(
                creators=options["creators"], seed=options["seed"], batch_size=options["batch"],
                posts=not options["no_posts"], demo_credits=options["credits"], on_batch=bar.update,
            )
        self.stdout.write(
            f"seed_demo: {result.creators_created} creators and {result.posts_created} posts created "
            f"in {time.monotonic() - started:.1f}s; demo user {result.demo_email} has {result.demo_balance} credits"
        )
