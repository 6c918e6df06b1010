"""Browser tests: pytest-playwright driving the system Chromium (Debian's `chromium`
package; Playwright never downloads a browser here).

Every test in tests/e2e is marked `e2e` and skipped, with the reason, when
/usr/bin/chromium is missing. Tests get a `live_server` over a `transactional_db`
(the server thread must see the test's rows, so no wrapping transaction).
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage

from organisations.models import Organisation
from tests.admin_support import PASSWORD, make_staff
from tests.factories import OrganisationFactory

CHROMIUM = Path("/usr/bin/chromium")
SKIP_REASON = (
    f"{CHROMIUM} not found: browser tests need the system Chromium (apt-get install -y chromium)"
)

# Playwright's sync API runs an asyncio loop in this thread; Django's ORM refuses to
# run in a thread with a running loop unless told it is safe (it is: one test thread).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)
            if not CHROMIUM.exists():
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(autouse=True)
def _e2e_database(transactional_db: None) -> None:
    """The live server runs in another thread: rows must be committed to be seen."""


@pytest.fixture(autouse=True)
def _no_csp_violation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every page a test opens keeps to the CSP (no inline style or script, no eval):
    Chromium reports each refusal on the console, and the test fails with it."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(f"{page.url}: {message.text}")

    page.context.on("console", on_console)
    yield
    assert refused == [], "\n".join(refused)


@pytest.fixture
def e2e_org() -> Organisation:
    return OrganisationFactory(name="Browser Bank", slug="browser-bank")


@pytest.fixture
def admin_page(page, live_server, e2e_org):
    """A Playwright page logged in to the admin through its login form, as a staff
    member (Compliance officer) of `e2e_org`. `page.base_url` is the live server."""
    user = make_staff(e2e_org, username="officer")
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.base_url = live_server.url
    page.user = user
    return page
