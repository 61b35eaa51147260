"""The engine server's protocol: length-prefixed JSON messages on a Unix stream socket.

The client sends one request, ``{"env": {...}, "cwd": "...", "argv": [...]}``, with its
standard input, output and error attached (``SCM_RIGHTS``). The server answers
``{"pid": N}`` once the run's process exists, or ``{"refused": "why"}``, and later
``{"status": S}``, the run process's wait status. Standard library only: the client imports
nothing else, so that it starts in milliseconds.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from typing import Any

SOCKET_ENV = "HEADPIX_ENGINE_SOCKET"
_HEADER = struct.Struct("!I")
MAX_MESSAGE = 4 * 1024 * 1024  # an environment, not a payload


class WireError(ConnectionError):
    """The other side closed the connection or sent something that is not a message."""


class Closed(WireError):
    """The other side closed the connection before a message began (a readiness probe)."""


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    body = json.dumps(message).encode()
    data = _HEADER.pack(len(body)) + body
    if fds:
        sent = socket.send_fds(sock, [data], fds)
        data = data[sent:]
    if data:
        sock.sendall(data)


def _read_exactly(sock: socket.socket, size: int, first: bytes = b"") -> bytes:
    chunks = [first]
    got = len(first)
    while got < size:
        chunk = sock.recv(min(size - got, 65536))
        if not chunk:
            raise WireError("the connection closed in the middle of a message")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket, *, max_fds: int = 0) -> tuple[dict[str, Any], list[int]]:
    """One message, and the descriptors that came with it (the caller closes them).

    Reads exactly one message's bytes, so that a message following it stays in the socket."""
    fds: list[int] = []
    if max_fds:
        head, fds, _flags, _addr = socket.recv_fds(sock, _HEADER.size, max_fds)
    else:
        head = sock.recv(_HEADER.size)
    try:
        if not head:
            raise Closed("the connection closed")
        (size,) = _HEADER.unpack(_read_exactly(sock, _HEADER.size, head))
        if size > MAX_MESSAGE:
            raise WireError(f"a message of {size} bytes is over the {MAX_MESSAGE} byte limit")
        try:
            message = json.loads(_read_exactly(sock, size))
        except ValueError as error:
            raise WireError(f"a message that is not JSON ({error})") from error
        if not isinstance(message, dict):
            raise WireError("a message is a JSON object")
        return message, fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
