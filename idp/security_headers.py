"""Security headers on every response: strict CSP, no framing, no caching of pages."""

from __future__ import annotations

from flask import Flask, Response, request

# No inline script or style anywhere; the QR code is an inline SVG image (data: URI).
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
DEFAULTS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def init_app(app: Flask) -> None:
    defaults = dict(DEFAULTS)
    if app.config["IDP"].issuer.startswith("https://"):
        defaults["Strict-Transport-Security"] = "max-age=31536000"
    # Lower-cased once here: header names compare case-insensitively.
    fill = tuple((name.lower(), name, value) for name, value in defaults.items())
    keys = frozenset(key for key, _, _ in fill)
    # Most responses set none of these themselves: they get all of them without a check each.
    every = tuple((name, value) for _, name, value in fill)

    @app.after_request
    def add_headers(response: Response) -> Response:
        headers = response.headers
        present = set(headers.keys(lower=True))
        if keys.isdisjoint(present):
            for name, value in every:
                headers.add(name, value)
        else:
            for key, name, value in fill:
                if key not in present:  # a response's own value (a stricter CSP, say) stays
                    headers.add(name, value)
        if not request.path.startswith("/static/"):
            # Login pages, tokens and personal data must never be kept by a browser or proxy.
            if "cache-control" in present or "pragma" in present:  # replaced, not added to
                headers["Cache-Control"] = "no-store"
                headers["Pragma"] = "no-cache"
            else:
                headers.add("Cache-Control", "no-store")
                headers.add("Pragma", "no-cache")
        return response
