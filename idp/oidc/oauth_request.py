"""Authlib's view of the Flask request, built cheaply: the token endpoint serves thousands of
requests a second, and Authlib asks a request for its parameters a dozen times."""

from __future__ import annotations

from functools import cached_property
from urllib.parse import parse_qsl

from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2.rfc6749 import OAuth2Request
from flask import Request
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict

URL_ENCODED = "application/x-www-form-urlencoded"


def url_encoded_form(request: Request) -> ImmutableMultiDict:
    """The fields of a url-encoded body, as `request.form` has them.

    Parsed here: Werkzeug's general form parser (multipart, files, streaming) costs several
    times the parsing itself, for the two to five fields of an OAuth request. The body is
    read as `request.form` reads it (`get_data` keeps the MAX_CONTENT_LENGTH limit) and kept,
    so a later `request.form` sees the same fields.
    """
    if request.method == "GET" or request.mimetype != URL_ENCODED:
        return request.form
    try:
        body = request.get_data(cache=True).decode()
    except UnicodeDecodeError:  # Werkzeug's parser, too, makes no fields of it
        return ImmutableMultiDict()
    # Werkzeug's own handler for undecodable escapes (werkzeug.urls registers it).
    return ImmutableMultiDict(parse_qsl(body, keep_blank_values=True, errors="werkzeug.url_quote"))


class OAuthPayload(FlaskOAuth2Payload):
    """The request's parameters, gathered once: query and, except for GET, form, as Flask's
    `request.values` combines them."""

    def __init__(self, request: OAuthRequest) -> None:
        self._oauth_request = request

    @cached_property
    def data(self):
        request = self._oauth_request
        if request.method == "GET":
            return request.args
        if not request.query_string:  # a token request: all in the body
            return request.form
        return CombinedMultiDict([request.args, request.form])

    @cached_property
    def datalist(self):
        return dict(self.data.lists())


class OAuthRequest(FlaskOAuth2Request):
    """Authlib's request on Flask's request object itself, not its context-local proxy, with
    the URL built plainly: Authlib only checks its scheme and host (secure transport), and
    Flask's `request.url` decodes the whole IRI for that."""

    def __init__(self, request: Request) -> None:
        url = f"{request.scheme}://{request.host}{request.path}"
        # Headers set afterwards: Authlib's `headers or {}` would count them all.
        OAuth2Request.__init__(self, request.method, url)
        self.headers = request.headers
        self._request = request
        self.payload = OAuthPayload(self)

    @property
    def query_string(self) -> bytes:
        return self._request.query_string

    @cached_property
    def args(self):
        return self._request.args

    @cached_property
    def form(self):
        return url_encoded_form(self._request)
