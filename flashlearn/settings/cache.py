"""Redis: the channel layers and the cache (in-memory stand-ins without REDIS_URL)."""

from __future__ import annotations

from flashlearn.env import env_str

REDIS_URL = env_str("REDIS_URL")
REDIS_PREFIX = env_str("REDIS_PREFIX", "flashlearn")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_PREFIX}:asgi"},
        },
        # Chat fan-out (messaging/, one subscription per process and session): pub/sub pushes instead
        # of polling; docs/messaging.md has the figures. MESSAGING_CHANNEL_LAYER=core switches.
        "messaging": (
            {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_PREFIX}:chat", "capacity": 1000},
            }
            if env_str("MESSAGING_CHANNEL_LAYER", "pubsub") == "core"
            else {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_PREFIX}:chat"},
            }
        ),
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"{REDIS_PREFIX}:cache",
            "OPTIONS": {
                "socket_connect_timeout": 2, "socket_timeout": 2,
                "pool_class": "flashlearn.cache.BreakerConnectionPool",  # fails fast in an outage
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
        "messaging": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
