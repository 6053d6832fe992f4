"""Errors gunicorn answers itself, before Flask sees a request (a bad request line, headers too
large), written as problem+json like every other error of the service.

gunicorn writes them with ``gunicorn.util.write_error`` (an HTML page); the worker class below
puts :func:`write_problem` in its place in each worker process. The detail is fixed text per
status: gunicorn's own message quotes the offending request line, which is not echoed.
"""

from __future__ import annotations

import json
import socket

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

_DETAILS = {
    400: "The request could not be read as HTTP/1.1 (request line, method, version or headers).",
    403: "The request is forbidden.",
    414: "The request line is too long.",
    417: "The expectation in the Expect header cannot be met.",
    431: "The request's header fields are too large.",
    501: "The transfer coding is not supported.",
}


def problem_bytes(status: int, reason: str) -> bytes:
    """A complete HTTP/1.1 response carrying an RFC 9457 problem for a gunicorn-level error.

    >>> problem_bytes(400, "Bad Request").split(b"\\r\\n")[0]
    b'HTTP/1.1 400 Bad Request'
    """
    body = json.dumps({
        "type": "about:blank", "title": reason, "status": status,
        "detail": _DETAILS.get(status, reason), "code": reason.lower().replace(" ", "_"),
    }).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def write_problem(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """``gunicorn.util.write_error``'s signature; ``mesg`` (gunicorn's text) is not sent."""
    util.write_nonblock(sock, problem_bytes(status_int, reason))


class ProblemThreadWorker(ThreadWorker):
    """gunicorn's gthread worker whose own error answers are problem+json."""

    def init_process(self) -> None:
        util.write_error = write_problem
        super().init_process()
