"""The admin web console (German, server-rendered), each admin inside their own scope."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from idp.console import activations, audit_log, imports, letters, persons, services

    app.register_blueprint(persons.blueprint)
    app.register_blueprint(imports.blueprint)
    app.register_blueprint(letters.blueprint)
    app.register_blueprint(audit_log.blueprint)
    app.register_blueprint(services.blueprint)
    app.register_blueprint(activations.blueprint)
