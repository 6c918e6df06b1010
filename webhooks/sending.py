"""One HTTP attempt of a delivery: signed per Standard Webhooks, to the address the
URL check approved (so a DNS answer that changes after the check is not used), no
redirects followed, 5 s to connect and 10 s in all, at most 1 KB of the answer kept.

urllib3's timeouts bound the connect and each read, not the whole answer: a receiver
sending a byte every few seconds would hold a worker for as long as it likes. So a
watchdog thread cuts the connection of an attempt still running after 10 s, and the
attempt counts as timed out.
"""

import base64
import contextlib
import hashlib
import heapq
import hmac
import itertools
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

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


TIMED_OUT = "Timed out."


class _Attempt:
    """One attempt's deadline and what it sends on (told by the connection itself,
    below), which the watchdog cuts when the deadline passes: the connection while it
    connects, the socket once the request is sent (the answer is read from the socket
    even when the connection has let go of it, as it does for a `Connection: close`)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.connection: HTTPConnection | None = None
        self.sock: socket.socket | None = None
        self.done = False
        self.cut = False

    def cut_connection(self) -> None:
        self.cut = True
        for sock in (self.sock, getattr(self.connection, "sock", None)):
            if sock is not None:
                with contextlib.suppress(OSError):  # closed meanwhile
                    sock.shutdown(socket.SHUT_RDWR)  # a blocked read returns at once


class _Watchdog:
    """One thread per process, asleep until the earliest deadline of the running
    attempts (they all get the same delay, so it is woken only when it has none)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, _Attempt]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, attempt: _Attempt) -> None:
        with self._condition:
            if self._thread is None or not self._thread.is_alive():  # first, or forked
                self._thread = threading.Thread(
                    target=self._run, name="webhook-deadlines", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._heap, (attempt.deadline, next(self._order), attempt))
            if self._heap[0][2] is attempt:  # the earliest now: wake up for it
                self._condition.notify()

    def _run(self) -> None:
        with self._condition:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
                    _, _, attempt = heapq.heappop(self._heap)
                    if not attempt.done:
                        attempt.cut_connection()
                wait = self._heap[0][0] - now if self._heap else None
                self._condition.wait(wait)


_watchdog = _Watchdog()
_current = threading.local()  # the attempt this thread is making


@contextmanager
def _deadline(seconds: float) -> Iterator[_Attempt]:
    attempt = _Attempt(time.monotonic() + seconds)
    _current.attempt = attempt
    _watchdog.watch(attempt)
    try:
        yield attempt
    finally:
        attempt.done = True
        _current.attempt = None


def _note_connection(connection: HTTPConnection) -> None:
    attempt = getattr(_current, "attempt", None)
    if attempt is not None:
        attempt.connection = connection
        attempt.sock = connection.sock


class _WatchedHTTPConnection(HTTPConnection):
    """Tells the running attempt which connection it uses as it connects, and which
    socket once the request is sent (a kept-alive connection only sends)."""

    def connect(self) -> None:
        _note_connection(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _note_connection(self)
        super().request(*args, **kwargs)
        _note_connection(self)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    pass


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
            pool.ConnectionCls = _WatchedHTTPSConnection
        else:
            pool = urllib3.HTTPConnectionPool(
                target.address, target.port, timeout=timeout, retries=False, maxsize=2
            )
            pool.ConnectionCls = _WatchedHTTPConnection
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
    with _deadline(TOTAL_TIMEOUT) as attempt:
        outcome = _send(target, headers=headers, body=body)
    if attempt.cut:  # whatever came before the cut is not an answer
        return Outcome(ok=False, error=TIMED_OUT)
    return outcome


def _send(target: Target, *, headers: dict[str, str], body: str) -> Outcome:
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
        # The socket's own words ("[Errno 111] Connection refused"), not urllib3's
        # wrapping, which names our connection class.
        return Outcome(ok=False, error=f"Connection failed: {exc.__cause__ or exc}"[:500])
    except urllib3.exceptions.TimeoutError:
        return Outcome(ok=False, error=TIMED_OUT)
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
