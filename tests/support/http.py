"""One HTTP server for every stand-in the tests need (Kubernetes API, KFP, MinIO, the registry, /healthz).

A stand-in is a function from `Request` to `Reply`; `StandInServer` serves it on 127.0.0.1 only (HTTPS when given an
`ssl.SSLContext`), from a daemon thread with `serve_forever(poll_interval=0.05)`, and `close()` stops it. Tests get
servers from the `serve` fixture (tests/conftest.py), which closes each one when the test ends.
"""
from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlparse


@dataclass(frozen=True)
class Request:
    method: str
    path: str          # as sent, query included
    headers: Message
    body: bytes

    @property
    def route(self) -> str:
        """The path without its query."""
        return urlparse(self.path).path

    @property
    def query(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(urlparse(self.path).query, keep_blank_values=True).items()}

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes | str | dict | list = b""     # dicts and lists are sent as JSON
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def data(self) -> bytes:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode()
        return self.body.encode() if isinstance(self.body, str) else self.body


Handle = Callable[[Request], Reply]
DROP = Reply(0)   # close the connection without an answer (a server that dies mid-request)


class StandInServer:
    def __init__(self, handle: Handle, tls: ssl.SSLContext | None = None):
        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                reply = handle(Request(self.command, self.path, self.headers, self.rfile.read(length)))
                if reply is DROP:
                    self.close_connection = True
                    return
                data = reply.data()
                self.send_response_only(reply.status)    # only the headers a stand-in gives (no implicit Date)
                for name, value in {"Content-Type": reply.content_type, **reply.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    if self.command != "HEAD":
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass   # the client gave up first (a timeout scenario)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving and free the port (again is a no-op: a test may stop a server to see it gone)."""
        if self._thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


class UnhelpfulServer:
    """A 127.0.0.1 endpoint that accepts connections and then never answers ("silent") or answers something that is
    not HTTP ("garbage"): what a hung server, or another program on the port, looks like to a client."""

    def __init__(self, kind: str):
        import socket

        self.kind, self.accepted, self._stop = kind, [], threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.accepted.append(conn)
            if self.kind == "garbage":
                conn.sendall(b"\x00\xffnot http at all\r\n\r\n")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self.accepted:
            conn.close()
        self.listener.close()
