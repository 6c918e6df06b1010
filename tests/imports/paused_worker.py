"""`manage.py` for the lease tests: with KYC_TEST_PAUSE_MARKER set, an import pauses
after it has written its rows and before it commits its completion, having created that
marker file, so that the test can kill the worker mid-import at a known point. With
KYC_TEST_PAUSE_AFTER_BATCHES=N as well, it pauses instead right after its N-th committed
batch (between two batches).

    python -m tests.imports.paused_worker db_worker --no-reload ...
"""

import os
import sys
import time
from pathlib import Path
from typing import Any


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kycregistry.settings.base")
    import django

    django.setup()
    marker = os.environ.get("KYC_TEST_PAUSE_MARKER")
    after = int(os.environ.get("KYC_TEST_PAUSE_AFTER_BATCHES", "0"))
    if marker and after:
        from imports import services

        def pause_between(upload_id: int, phase: str, batches: int) -> None:
            if batches == after:
                Path(marker).write_text(f"{phase} {batches}")
                time.sleep(120)

        services._batch_committed = pause_between
    elif marker:
        from imports import services

        completed_fields = services._completed_fields

        def paused(run: Any) -> dict[str, Any]:
            # Called by the import once every batch is written, inside its last
            # transaction.
            Path(marker).write_text(str(os.getpid()))
            time.sleep(120)
            return completed_fields(run)

        services._completed_fields = paused

    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", *sys.argv[1:]])


if __name__ == "__main__":
    main()
