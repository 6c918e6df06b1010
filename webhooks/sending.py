"""One HTTP attempt of a delivery: signed per Standard Webhooks, to the address the
URL check approved (so a DNS answer that changes after the check is not used), no
redirects followed, 5 s to connect and 10 s in all, at most 1 KB of the answer kept."""

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

import urllib3

from webhooks.models import SECRET_PREFIX
from webhooks.netguard import Target, UnsafeUrl, check_url

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 10.0
KEPT_BODY_BYTES = 1024
USER_AGENT = "kycregistry-webhooks/1"


def sign(*, secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the decoded secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256)
    return "v1," + base64.b64encode(digest.digest()).decode()


def signed_headers(
    *, secrets: Iterable[str], webhook_id: str, timestamp: int, body: str
) -> dict[str, str]:
    signatures = " ".join(
        sign(secret=s, webhook_id=webhook_id, timestamp=timestamp, body=body) for s in secrets
    )
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None = None
    body: str = ""
    error: str = ""


# Connections are kept alive per checked address (a fast receiver answers hundreds of
# deliveries a second over a few connections); the key holds the address, so a new
# DNS answer gets a new pool.
_pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}


def _pool(target: Target) -> urllib3.HTTPConnectionPool:
    key = (target.scheme, target.address, target.port, target.host)
    pool = _pools.get(key)
    if pool is None:
        if len(_pools) > 100:
            for old in _pools.values():
                old.close()
            _pools.clear()
        timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, total=TOTAL_TIMEOUT)
        if target.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                target.address,
                target.port,
                timeout=timeout,
                retries=False,
                maxsize=2,
                server_hostname=target.host,
                assert_hostname=target.host,
            )
        else:
            pool = urllib3.HTTPConnectionPool(
                target.address, target.port, timeout=timeout, retries=False, maxsize=2
            )
        _pools[key] = pool
    return pool


def host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


def post(*, url: str, headers: dict[str, str], body: str) -> Outcome:
    try:
        target = check_url(url)
    except UnsafeUrl as exc:
        return Outcome(ok=False, error=exc.message)
    try:
        response = _pool(target).urlopen(
            "POST",
            target.path,
            body=body.encode(),
            headers={**headers, "host": host_header(target)},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
    except urllib3.exceptions.NewConnectionError as exc:  # before TimeoutError: a subclass
        return Outcome(ok=False, error=f"Connection failed: {_reason(exc)}"[:500])
    except urllib3.exceptions.TimeoutError:
        return Outcome(ok=False, error="Timed out.")
    except urllib3.exceptions.HTTPError as exc:
        return Outcome(ok=False, error=f"Connection failed: {_reason(exc)}"[:500])
    try:
        kept = response.read(KEPT_BODY_BYTES, decode_content=False)
        if response.read(64 * 1024, decode_content=False):
            response.close()  # a long answer is not read to its end: drop the connection
    except (urllib3.exceptions.HTTPError, OSError):
        kept = b""
        response.close()
    finally:
        response.release_conn()
    status = response.status
    text = kept.decode("utf-8", errors="replace")
    if 200 <= status < 300:
        return Outcome(ok=True, status=status, body=text)
    error = f"HTTP {status}"
    if 300 <= status < 400:
        error += " (redirects are not followed)"
    return Outcome(ok=False, status=status, body=text, error=error)


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc)
