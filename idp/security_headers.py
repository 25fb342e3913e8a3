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


def init_app(app: Flask) -> None:
    https = app.config["IDP"].issuer.startswith("https://")

    @app.after_request
    def add_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if not request.path.startswith("/static/"):
            # Login pages, tokens and personal data must never be kept by a browser or proxy.
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        if https:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
