"""Database backends: Django's own, adapted where an outage must be answered fast."""
