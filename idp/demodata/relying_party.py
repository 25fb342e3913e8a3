"""A tiny demo service ("Demo-Dienst") that logs people in through schul-idp with OIDC.

It is a separate Flask app, a relying party like any school service, built on Authlib's
client side: authorization code with PKCE, ID token and userinfo, RP-initiated logout.
`make demo` starts it next to the IdP; it shows what the service learned about the person.

    python -m idp.demodata.relying_party --client instance/demo/demo-client.json --port 8081
"""

from __future__ import annotations

import argparse
import json
import secrets
from pathlib import Path
from urllib.parse import urlencode

from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, render_template_string, request, session, url_for
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"

PAGE = """<!doctype html><html lang="de"><head><meta charset="utf-8">
<title>Demo-Dienst</title></head><body style="font-family: sans-serif; max-width: 44rem;
margin: 2rem auto"><h1>Demo-Dienst</h1>
{% if claims %}
  <p>Angemeldet. Das hat der Dienst über Sie erfahren (nur, was die Richtlinie erlaubt):</p>
  <pre>{{ claims }}</pre>
  <p><a href="{{ url_for('logout') }}">Abmelden</a></p>
{% else %}
  <p>Ein Beispieldienst, der die Anmeldung dem Schul-Login überlässt.</p>
  <p><a href="{{ url_for('login') }}">Mit dem Schul-Login anmelden</a></p>
{% endif %}
{% if logged_out %}<p>Der Schul-Login hat Sie abgemeldet (Back-Channel-Logout).</p>{% endif %}
</body></html>"""


def create_app(client_file: Path, base: str) -> Flask:
    registration = json.loads(client_file.read_text(encoding="utf-8"))
    app = Flask(__name__)
    app.secret_key = secrets.token_urlsafe(32)
    oauth = OAuth(app)
    idp = oauth.register(
        "schul_idp",
        client_id=registration["client_id"],
        client_secret=registration["client_secret"],
        server_metadata_url=registration["issuer"] + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid profile email schulconnex",
            "code_challenge_method": "S256",
        },
    )
    ended: set[str] = set()

    @app.get("/")
    def start():
        claims = session.get("claims")
        if claims and claims.get("sid") in ended:
            session.clear()
            return render_template_string(PAGE, claims=None, logged_out=True)
        text = json.dumps(claims, indent=2, ensure_ascii=False) if claims else None
        return render_template_string(PAGE, claims=text, logged_out=False)

    @app.get("/login")
    def login():
        return idp.authorize_redirect(f"{base}/callback")

    @app.get("/callback")
    def callback():
        token = idp.authorize_access_token()
        claims = dict(token["userinfo"])
        claims.update(idp.userinfo(token=token))
        session["claims"] = claims
        session["id_token"] = token["id_token"]
        return redirect(url_for("start"))

    @app.get("/logout")
    def logout():
        metadata = idp.load_server_metadata()
        query = urlencode(
            {"id_token_hint": session.pop("id_token", ""), "post_logout_redirect_uri": f"{base}/"}
        )
        session.clear()
        return redirect(f"{metadata['end_session_endpoint']}?{query}")

    @app.post("/backchannel-logout")
    def backchannel_logout():
        """The IdP says a login ended: check the logout token, remember its session id."""
        try:
            token = jwt.decode(
                request.form.get("logout_token", ""),
                KeySet.import_key_set(idp.fetch_jwk_set()),
            )
        except (JoseError, ValueError):
            return "", 400
        claims = token.claims
        if (
            claims.get("iss") != registration["issuer"]
            or claims.get("aud") != registration["client_id"]
            or LOGOUT_EVENT not in claims.get("events", {})
        ):
            return "", 400
        ended.add(str(claims.get("sid")))
        return "", 200

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--client", type=Path, required=True, help="JSON from idp demo-logins")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    create_app(args.client, base).run(host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
