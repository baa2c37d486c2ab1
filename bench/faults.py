"""A fault-injecting reverse proxy on loopback, between harvester and a real server.

Raw sockets on the client side, so the faults are what a client really meets on a network:

- ``drop``:  the status line, the headers (with the full Content-Length) and part of the body,
  then a clean close (FIN). The client reads a short body.
- ``stall``: part of the response (or nothing at all), then silence until the client gives up
  (its read timeout) or ``stall_seconds`` pass, whichever is first.
- ``reset``: part of the response (or nothing at all), then a close with SO_LINGER 0, which
  sends a TCP RST: the client gets "connection reset by peer".

Which requests are faulted: each ``Fault`` matches a path substring (``runs/search``) and
either the ``nth`` matching request (1-based) or, with ``probability``, a random fraction of
them (seeded). ``at`` is the fraction of the body sent before the fault; ``None`` means before
the first byte of the response. The upstream always receives and answers the request (the
server did the work; the answer is lost on the way back), and every request is logged with the
fault it met.
"""

from __future__ import annotations

import http.client
import random
import select
import socket
import struct
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Sequence
from urllib.parse import urlsplit

FAULT_KINDS = ("drop", "stall", "reset")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length", "host"}
MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Fault:
    kind: str                          # drop | stall | reset
    match: str = "runs/search"         # a substring of the request path
    nth: int | None = 1                # the nth matching request (1-based); None: use probability
    probability: float = 0.0           # with nth=None: the chance each matching request is faulted
    at: float | None = 0.5             # fraction of the body sent first; None: before the status line
    stall_seconds: float = 30.0        # a stall ends when the client closes, or after this long
    times: int = 1                     # how many matching requests from the nth on (1: just the nth)

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; choose from {', '.join(FAULT_KINDS)}")
        if self.at is not None and not 0.0 <= self.at <= 1.0:
            raise ValueError("at must be None or a fraction between 0 and 1")

    def describe(self) -> str:
        which = f"request #{self.nth}" if self.nth is not None else f"{self.probability:.0%} of requests"
        if self.times > 1 and self.nth is not None:
            which += f" (and the {self.times - 1} after it)"
        where = "before the response" if self.at is None else f"after {self.at:.0%} of the body"
        return f"{self.kind} on {self.match} {which}, {where}"


@dataclass
class Logged:
    """One request through the proxy."""

    n: int                 # 1-based over all requests
    method: str
    path: str
    status: int | None = None
    body_bytes: int = 0
    sent_bytes: int = 0
    fault: str | None = None


@dataclass
class FaultProxy:
    upstream: str
    faults: Sequence[Fault] = ()
    seed: int | None = None
    upstream_timeout: float = 600.0
    log: list[Logged] = field(default_factory=list)

    def __post_init__(self):
        parts = urlsplit(self.upstream)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._matched: dict[int, int] = {}     # fault index -> matching requests so far
        self._armed = True
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        self._accept = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)

    # control ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FaultProxy":
        self._accept.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._accept.join(timeout=5)
        self._listener.close()
        with self._lock:
            idle = list(self._open)
        for conn in idle:  # unblock threads waiting on keep-alive connections
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in list(self._threads):
            t.join(timeout=5)

    def disarm(self) -> None:
        """Pass everything through from now on (the proxy keeps counting)."""
        with self._lock:
            self._armed = False

    def arm(self, faults: Sequence[Fault]) -> None:
        with self._lock:
            self.faults = list(faults)
            self._matched.clear()
            self._armed = True

    @property
    def injected(self) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if r.fault]

    def requests(self, match: str = "") -> int:
        with self._lock:
            return sum(1 for r in self.log if match in r.path)

    # serving ------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), name="fault-proxy-conn", daemon=True)
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
            t.start()

    def _choose(self, path: str) -> Fault | None:
        with self._lock:
            if not self._armed:
                return None
            for i, fault in enumerate(self.faults):
                if fault.match not in path:
                    continue
                seen = self._matched.get(i, 0) + 1
                self._matched[i] = seen
                if fault.nth is not None:
                    if fault.nth <= seen < fault.nth + fault.times:
                        return fault
                elif self._rng.random() < fault.probability:
                    return fault
        return None

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(self.upstream_timeout)
        buffered = b""
        with self._lock:
            self._open.add(conn)
        try:
            while not self._stop.is_set():
                request, buffered = read_request(conn, buffered)
                if request is None:
                    return
                method, target, headers, body = request
                with self._lock:
                    entry = Logged(n=len(self.log) + 1, method=method, path=target.split("?", 1)[0])
                    self.log.append(entry)
                fault = self._choose(entry.path)
                status, reason, resp_headers, payload = self._forward(method, target, headers, body)
                entry.status, entry.body_bytes = status, len(payload)
                head = [f"HTTP/1.1 {status} {reason}"]
                head += [f"{k}: {v}" for k, v in resp_headers if k.lower() not in HOP_BY_HOP]
                head += [f"Content-Length: {len(payload)}", "Connection: keep-alive"]
                head_bytes = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
                if fault is None:
                    conn.sendall(head_bytes + payload)
                    entry.sent_bytes = len(head_bytes) + len(payload)
                    continue
                entry.fault = fault.describe()
                sent = b""
                if fault.at is not None:
                    sent = head_bytes + payload[:int(len(payload) * fault.at)]
                    conn.sendall(sent)
                entry.sent_bytes = len(sent)
                self._inject(conn, fault)
                return
        except OSError:
            return
        finally:
            with self._lock:
                self._open.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _inject(self, conn: socket.socket, fault: Fault) -> None:
        if fault.kind == "stall":
            wait_for_close(conn, fault.stall_seconds, self._stop)
            conn.close()
        elif fault.kind == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # RST, not FIN
        else:  # drop
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            conn.close()

    def _forward(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes):
        up = http.client.HTTPConnection(self._host, self._port, timeout=self.upstream_timeout)
        try:
            up.request(method, target, body=body or None,
                       headers={k: v for k, v in headers if k.lower() not in HOP_BY_HOP})
            resp = up.getresponse()
            payload = resp.read()
            return resp.status, resp.reason, resp.getheaders(), payload
        finally:
            up.close()


def read_request(conn: socket.socket, buffered: bytes):
    """One HTTP/1.1 request from a keep-alive connection: ((method, target, headers, body), rest),
    or (None, b"") at EOF."""
    data = buffered
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEADER_BYTES:
            return None, b""
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    lowered = {k.lower(): v for k, v in headers}
    if "chunked" in lowered.get("transfer-encoding", "").lower():
        body, rest = read_chunked(conn, rest)
    else:
        length = int(lowered.get("content-length") or 0)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None, b""
            rest += chunk
        body, rest = rest[:length], rest[length:]
    return (method, target, headers, body), rest


def read_chunked(conn: socket.socket, data: bytes) -> tuple[bytes, bytes]:
    body = b""
    while True:
        while b"\r\n" not in data:
            data += conn.recv(65536)
        size_line, data = data.split(b"\r\n", 1)
        size = int(size_line.split(b";")[0], 16)
        while len(data) < size + 2:
            data += conn.recv(65536)
        body, data = body + data[:size], data[size + 2:]
        if size == 0:
            return body, data


def wait_for_close(conn: socket.socket, seconds: float, stop: threading.Event) -> None:
    """Hold the connection open and silent until the peer closes it or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < deadline:
        readable, _, _ = select.select([conn], [], [], 0.1)
        if readable:
            try:
                if not conn.recv(65536):
                    return  # the client gave up
            except OSError:
                return


@contextmanager
def fault_proxy(upstream: str, *faults: Fault, seed: int | None = None) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream, faults, seed=seed).start()
    try:
        yield proxy
    finally:
        proxy.stop()
