"""The pages a browser sees on its way through SAML: the form that carries a message to a
service (HTTP-POST binding), the refusal, the end of a logout."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from flask import render_template
from werkzeug.wrappers import Response

from idp.security_headers import CSP


def post_form(location: str, field: str, xml: str, relay_state: str | None) -> Response:
    """A page that POSTs `xml` (base64) to `location`; a small script of ours submits it.

    Our CSP allows forms to go only to this site; this page may also send to the service.
    """
    fields = {field: base64.b64encode(xml.encode()).decode()}
    if relay_state:
        fields["RelayState"] = relay_state
    page = render_template("saml/post.html", location=location, fields=fields)
    return _allowing_form_to(Response(page, mimetype="text/html"), location)


def denied(message: str, service_name: str, back: tuple[str, dict] | None = None) -> Response:
    """A German refusal; with `back` (location, fields) a button sends the SP our SAML error."""
    page = render_template("saml/denied.html", message=message, name=service_name, back=back)
    response = Response(page, status=403, mimetype="text/html")
    return _allowing_form_to(response, back[0]) if back else response


def refused(message: str, status: int = 400) -> Response:
    return Response(render_template("error.html", message=message), status, mimetype="text/html")


def logged_out() -> Response:
    return Response(render_template("auth/logged_out.html"), mimetype="text/html")


def encoded(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


def _allowing_form_to(response: Response, location: str) -> Response:
    parts = urlsplit(location)
    origin = f"{parts.scheme}://{parts.netloc}"
    response.headers["Content-Security-Policy"] = CSP.replace(
        "form-action 'self'", f"form-action 'self' {origin}"
    )
    return response
