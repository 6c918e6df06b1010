import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Uploaded files and reports go to a per-test directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
