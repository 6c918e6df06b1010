"""Every write of screening: watchlists, screening runs, hit reviews, monitoring."""

from screening.services.screening import (
    COMMENT_REQUIRED,
    ScreeningRun,
    customer_monitor_start,
    customer_monitor_stop,
    customer_screen,
    hit_review,
    rescreen_changed,
    screen_book,
    screen_customers,
    screen_due,
    screen_monitored_against_version,
)
from screening.services.watchlists import watchlist_delete, watchlist_import_run, watchlist_upload

__all__ = [
    "COMMENT_REQUIRED",
    "ScreeningRun",
    "customer_monitor_start",
    "customer_monitor_stop",
    "customer_screen",
    "hit_review",
    "rescreen_changed",
    "screen_book",
    "screen_customers",
    "screen_due",
    "screen_monitored_against_version",
    "watchlist_delete",
    "watchlist_import_run",
    "watchlist_upload",
]
