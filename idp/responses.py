"""The app's response class: a body already in memory goes to the server in one piece."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response


class BufferedResponse(Response):
    """Flask's response, handing a body held in memory to the WSGI server as a one-item list.

    Werkzeug wraps every body in an iterator; a server takes a list at once, but steps through
    an iterator chunk by chunk (granian passes each chunk from the app's thread to its network
    loop and back). Streamed bodies (generators, files) stay iterators.
    """

    def get_app_iter(self, environ: dict) -> Iterable[bytes]:
        body = super().get_app_iter(environ)
        if not self.is_sequence or self.direct_passthrough:
            return body
        try:
            return [b"".join(body)]
        finally:
            body.close()  # runs the response's close callbacks, as the server would
