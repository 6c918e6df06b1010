"""gunicorn settings for `make serve` and production (see README "Production serving")."""

import gc
import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# Sync workers: requests are short; bulk uploads run in the task worker, not here.
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker: Any) -> None:
    """The objects the app made while loading live as long as the worker: frozen, the
    garbage collector no longer walks them, and a full collection takes ~1 ms instead
    of ~80 ms (a pause every few thousand requests; docs/performance.md)."""
    gc.freeze()
