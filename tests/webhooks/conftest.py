from collections.abc import Iterator

import pytest

from tests.webhooks.receiver import Receiver
from webhooks import netguard


@pytest.fixture
def local_urls(settings) -> None:
    """Receivers in tests are HTTP servers on 127.0.0.1: allow them."""
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def receiver(local_urls) -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def fake_dns(monkeypatch) -> dict[str, list[str]]:
    """Host → addresses, instead of DNS (tests never resolve real names)."""
    answers: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host in answers:
            return answers[host]
        raise OSError("no such host")

    monkeypatch.setattr(netguard, "resolve", resolve)
    return answers
