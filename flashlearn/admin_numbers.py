"""The numbers staff look at first, shown on the admin index, each with the filtered list behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone


@dataclass(frozen=True)
class StaffNumber:
    label: str
    value: int
    url: str


def _changelist(model_label: str, **lookups) -> str:
    app_label, model_name = model_label.split(".")
    query = {k: v.isoformat(timespec="seconds") if isinstance(v, datetime) else v for k, v in lookups.items()}
    return f"{reverse(f'admin:{app_label}_{model_name}_changelist')}?{urlencode(query)}"


def staff_numbers() -> list[StaffNumber]:
    from accounts.models import AuthEvent
    from calendars.models import CalendarConnection
    from creators.models import CreditLedger
    from messaging.models import LiveSession

    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    needs_reauth = CalendarConnection.Status.NEEDS_REAUTH
    granted = CreditLedger.objects.filter(reason=CreditLedger.Reason.GRANT, created_at__gte=today)
    return [
        StaffNumber("Live sessions now", LiveSession.objects.filter(status=LiveSession.Status.LIVE).count(),
                    _changelist("messaging.livesession", status__exact="live")),
        StaffNumber("Calendars needing reconnection",
                    CalendarConnection.objects.filter(status=needs_reauth).count(),
                    _changelist("calendars.calendarconnection", status__exact=needs_reauth)),
        StaffNumber("Calendars failing to sync",
                    CalendarConnection.objects.filter(Q(consecutive_failures__gt=0) | Q(status="error")).count(),
                    _changelist("calendars.calendarconnection", consecutive_failures__gt=0)),
        StaffNumber("Calendar syncs in the last hour",
                    CalendarConnection.objects.filter(last_synced_at__gte=hour_ago).count(),
                    _changelist("calendars.calendarconnection", last_synced_at__gte=hour_ago)),
        StaffNumber("Credits granted today", granted.aggregate(total=Sum("delta"))["total"] or 0,
                    _changelist("creators.creditledger", reason__exact="grant", created_at__gte=today)),
        StaffNumber("Sign-in failures in the last hour",
                    AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN_FAILED, created_at__gte=hour_ago).count(),
                    _changelist("accounts.authevent", kind__exact="login_failed", created_at__gte=hour_ago)),
    ]
