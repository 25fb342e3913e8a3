"""The start page: a tile for every service the person may use, and only those."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template, session, url_for
from sqlalchemy import select

from idp.auth import stepup
from idp.auth.sessions import current_login
from idp.extensions import db
from idp.models import OAuthClient, Person, SamlServiceProvider
from idp.policy import current_policies
from idp.policy.entitlement import entitlement
from idp.policy.facts import load_person_facts

blueprint = Blueprint("portal", __name__)


@dataclass(frozen=True)
class Tile:
    code: str
    name: str
    description: str
    sensitive: bool
    launch: str | None  # where the tile leads: the service's own login start


@blueprint.get("/")
def start():
    login = current_login(session)  # type: ignore[arg-type]
    if login is None:
        return stepup.ask_for_login("/")
    person = db.session.get(Person, login.person_id)
    return render_template("portal.html", person=person, tiles=tiles_for(person))


def tiles_for(person: Person) -> list[Tile]:
    """The services the person may use now, each with its launch address if it has one."""
    policies = current_policies()
    facts = load_person_facts(db.session, policies, person)
    allowed = [code for code in policies.services if entitlement(policies, facts, code).allowed]
    launch = dict(
        db.session.execute(
            select(OAuthClient.service_code, OAuthClient.initiate_login_uri)
            .where(
                OAuthClient.service_code.in_(allowed),
                OAuthClient.initiate_login_uri.is_not(None),
            )
            .order_by(OAuthClient.created_at.desc())
        ).all()
    )
    # SAML SPs that accept an unsolicited response start from our side (IdP-initiated).
    for code, provider_id in db.session.execute(
        select(SamlServiceProvider.service_code, SamlServiceProvider.id)
        .where(
            SamlServiceProvider.service_code.in_(allowed),
            SamlServiceProvider.idp_initiated.is_(True),
        )
        .order_by(SamlServiceProvider.created_at.desc())
    ):
        launch.setdefault(code, url_for("saml.start", provider_id=provider_id))
    return [
        Tile(
            code=code,
            name=policies.services[code].name,
            description=policies.services[code].description,
            sensitive=policies.services[code].sensitive,
            launch=launch.get(code),
        )
        for code in allowed
    ]
