"""Production settings and serving, run as a real deployment would: subprocesses with
settings.base and DJANGO_DEBUG=0 (no test settings involved)."""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "KYC_", "GUNICORN_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="kycregistry.settings.base",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="kyc.example.com,127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        KYC_MEDIA_ROOT=str(tmp_path / "media"),
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Path:
    """A migrated SQLite database and collected static files, as `make serve` makes."""
    tmp_path = tmp_path_factory.mktemp("deploy")
    env = production_env(tmp_path)
    for args in (("migrate", "--noinput"), ("collectstatic", "--noinput", "-v", "0")):
        result = manage(env, *args)
        assert result.returncode == 0, result.stderr
    return tmp_path


SCHEMA_WARNING = "drf_spectacular.W001"


def test_check_deploy_passes_without_warnings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    issues = re.findall(r"^.*\((\w+\.[CEWI]\d+)\).*$", output, flags=re.MULTILINE)
    # Schema warnings have their own test below, which names each one.
    assert [issue for issue in issues if issue != SCHEMA_WARNING] == [], output
    if not issues:
        assert result.returncode == 0, output
        assert "System check identified no issues (0 silenced)." in result.stdout


def test_openapi_schema_generates_without_warnings(tmp_path):
    result = manage(
        production_env(tmp_path),
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
    )
    assert result.returncode == 0, result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["DJANGO_SECRET_KEY"]
    result = manage(env, "check")
    assert result.returncode != 0
    assert "Set the DJANGO_SECRET_KEY environment variable." in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_gunicorn_serves_static_files_and_the_api(deployed):
    port = free_port()
    env = production_env(
        deployed,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        # No TLS proxy in this test: plain HTTP must not be redirected.
        DJANGO_SECURE_SSL_REDIRECT="0",
    )
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "kycregistry.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "gunicorn did not start in 30 s"
                time.sleep(0.2)

        status, headers, body = get(f"{base}/static/admin/css/base.css")
        assert status == 200
        assert headers["Content-Type"].startswith("text/css")
        assert b"body" in body

        # whitenoise serves the hashed names collectstatic wrote, cached for ever.
        manifest = json.loads((deployed / "static" / "staticfiles.json").read_text())
        hashed = manifest["paths"]["admin/css/base.css"]
        status, headers, _ = get(f"{base}/static/{hashed}", **{"Accept-Encoding": "gzip"})
        assert status == 200
        assert "immutable" in headers["Cache-Control"]
        assert headers.get("Content-Encoding") == "gzip"

        status, headers, body = get(f"{base}/api/v1/schema/?format=json")
        assert status == 200
        assert json.loads(body)["openapi"].startswith("3.")

        status, _, body = get(f"{base}/api/v1/customers")
        assert status == 401
        assert json.loads(body)["statusCode"] == 401

        status, headers, body = get(f"{base}/api/v1/docs/")
        assert status == 200
        assert "Content-Security-Policy" in headers
        assert b"swagger-ui-bundle" in body

        status, headers, _ = get(f"{base}/admin/login/")
        assert status == 200
        assert "Strict-Transport-Security" not in headers  # only sent over HTTPS
    finally:
        server.terminate()
        server.wait(timeout=30)


WRITER = textwrap.dedent(
    """
    import sys
    import django
    django.setup()
    from customers.services import customer_upsert
    from organisations.audit import Channel, audit_context
    from organisations.models import Organisation

    writer, rounds = sys.argv[1], int(sys.argv[2])
    organisation = Organisation.objects.get(slug="concurrency")
    with audit_context(channel=Channel.COMMAND):
        for i in range(rounds):
            # Both writers touch the same referenceIds: upserts race on every row.
            customer_upsert(
                organisation=organisation,
                data={"referenceId": f"C-{i % 25}", "name": f"Writer {writer} round {i}",
                      "accountTypeId": 1},
            )
    print("ok")
    """
)


def test_sqlite_file_database_takes_concurrent_writers(deployed):
    env = production_env(deployed)
    result = manage(env, "create_organisation", "--name", "Concurrency", "--slug", "concurrency")
    assert result.returncode == 0, result.stderr
    rounds = 150
    writers = [
        subprocess.Popen(
            [PYTHON, "-c", WRITER, name, str(rounds)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("A", "B", "C")
    ]
    outputs = [writer.communicate(timeout=300) for writer in writers]
    for writer, (stdout, stderr) in zip(writers, outputs, strict=True):
        assert "database is locked" not in stderr
        assert writer.returncode == 0, stderr
        assert stdout.strip() == "ok"

    count = manage(
        env,
        "shell",
        "-v",
        "0",
        "-c",
        "from customers.models import Customer;"
        "print(Customer.objects.filter(organisation__slug='concurrency').count())",
    )
    assert count.stdout.strip() == "25", count.stderr


@pytest.mark.parametrize(("level", "logged"), [("ERROR", ""), ("WARNING", "Not Found: /x")])
def test_the_log_level_applies_to_djangos_own_loggers(tmp_path, level, logged):
    code = "import logging; logging.getLogger('django.request').warning('Not Found: /x')"
    result = manage(production_env(tmp_path, DJANGO_LOG_LEVEL=level), "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith(logged)
    assert ("Not Found" in result.stderr) == bool(logged)
