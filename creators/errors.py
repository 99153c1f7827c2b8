"""Domain errors of the creators app; `flashlearn.errors.api_exception_handler` renders them."""

from __future__ import annotations

from flashlearn.errors import DomainError, NotFound


class InsufficientCredits(DomainError):
    status_code = 402
    code = "insufficient_credits"
    message = "Not enough credits."


class CreatorNotFound(NotFound):
    code = "creator_not_found"
    message = "No creator with this id."
