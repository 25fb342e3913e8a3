"""The application factory: a short list of setup steps, each wiring one area in one place."""

from __future__ import annotations

import logging

from flask import Flask

from idp.config import Config, ensure_secret_key_file, load_config
from idp.extensions import db


def create_app(config: Config | None = None, web: bool = True) -> Flask:
    """Build the app from `config` (default: $IDP_CONFIG, overridden by IDP_* variables).
    Without `web`, only the database and the policies: what a headless command such as the
    provisioning worker needs, without loading the pages, OIDC and SAML."""
    config = config or load_config()
    app = Flask(__name__)
    setup_config(app, config)
    setup_logging(app)
    setup_database(app)
    setup_policies(app)
    if web:
        setup_proxy(app)
        setup_web(app)
        setup_blueprints(app)
    return app


def setup_config(app: Flask, config: Config) -> None:
    app.config["IDP"] = config
    app.config["SECRET_KEY"] = ensure_secret_key_file(config)
    app.config["SQLALCHEMY_DATABASE_URI"] = config.database_url
    app.config["SQLALCHEMY_ECHO"] = config["database"]["echo"]


def setup_logging(app: Flask) -> None:
    level = app.config["IDP"]["logging"]["level"].upper()
    app.logger.setLevel(getattr(logging, level, logging.INFO))


def setup_database(app: Flask) -> None:
    from idp import database

    database.install_sqlite_pragmas()
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            database.ping_when_idle(engine)


def setup_policies(app: Flask) -> None:
    from idp.policy.loader import load_policies

    app.extensions["idp.policies"] = load_policies(app.config["IDP"].policies_dir)


def setup_proxy(app: Flask) -> None:
    # Behind a load balancer the client address (for the brute-force guard) comes from
    # X-Forwarded-For, trusted only for as many hops as configured.
    hops = app.config["IDP"]["server"]["proxy_hops"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def setup_web(app: Flask) -> None:
    from idp import auth, security_headers, ui
    from idp.responses import BufferedResponse

    app.response_class = BufferedResponse
    ui.init_app(app)
    security_headers.init_app(app)
    auth.init_app(app)
    setup_oidc(app)
    setup_saml(app)
    setup_console(app)


def setup_oidc(app: Flask) -> None:
    from idp.oidc import server, views

    server.init_app(app)
    views.init_app(app)


def setup_saml(app: Flask) -> None:
    from idp.saml import views

    views.init_app(app)


def setup_console(app: Flask) -> None:
    from idp import console

    console.init_app(app)


def setup_blueprints(app: Flask) -> None:
    from idp.health import blueprint as health

    app.register_blueprint(health)
