from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from creators import services
from flashlearn.errors import DomainError


class Command(BaseCommand):
    help = "Grant AMOUNT credits to the user with EMAIL; the grant is recorded in the ledger."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("amount", type=int)
        parser.add_argument("--note", default="granted by an operator", help="ledger note")

    def handle(self, *args, email: str, amount: int, note: str, **options):
        user = get_user_model().objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"no user with email {email!r}")
        try:
            entry = services.credits_grant(user=user, amount=amount, note=note)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"granted {amount} credits to {user.email}; balance is now {entry.balance_after}")
