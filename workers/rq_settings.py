"""Settings for RQ's command line (`rq cron -c workers.rq_settings ...`): Redis as the app sees it.

With REDIS_SENTINELS set, the scheduler asks the sentinels for the master, like the app and
the workers do; otherwise it connects to REDIS_URL.
"""

from __future__ import annotations

from config.settings import config_for
from hotline.redis_client import parse_sentinels, redis_url_parts

_settings = config_for()
_sentinels = parse_sentinels(_settings.REDIS_SENTINELS)

if _sentinels:
    _parts = redis_url_parts(_settings.REDIS_URL or "")
    SENTINEL = {
        "INSTANCES": _sentinels,
        "MASTER_NAME": _settings.REDIS_SENTINEL_MASTER,
        "DB": _parts.get("db", 0),
        "PASSWORD": _parts.get("password"),
        "SOCKET_TIMEOUT": 3,
        "SENTINEL_KWARGS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
else:
    REDIS_URL = _settings.REDIS_URL
