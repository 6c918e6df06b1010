"""Run as a separate process by imports.reader: `imports.guards.scan_sheet` on the
other core, while the worker validates the first batch (nothing is written before the
verdict). Exit status 0: the sheet passes; 2: refused, the reason on stderr."""

import sys
from pathlib import Path


def main() -> int:
    path, max_rows = sys.argv[1], int(sys.argv[2])
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from django.conf import settings

    settings.configure(KYC_UPLOAD_MAX_ROWS=max_rows)  # all that the scan reads

    from imports.guards import UploadRejected, scan_sheet

    try:
        scan_sheet(path)
    except UploadRejected as exc:
        sys.stderr.write(exc.message)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
