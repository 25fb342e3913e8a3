"""Arranging provisioning tests: a small school, a mail directory, a worker."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import Flask

from connectors.ldap_mail import LdapMailConnector
from idp.extensions import db
from idp.models import ServiceActivation
from idp.policy import current_policies
from idp.provisioning import outbox
from idp.provisioning.settings import provisioning_settings
from idp.provisioning.worker import Stats, Worker
from tests import factories as f
from tests.slapd_server import SlapdServer
from tests.web import data


@dataclass
class School:
    teacher: uuid.UUID
    other_teacher: uuid.UUID
    learner: uuid.UUID
    schule: uuid.UUID
    klasse: uuid.UUID


def school(site: Flask) -> School:
    with data(site) as s:
        state = f.small_state(s)
        tom = f.person(s, "tom.lehrer", "Tom", "Lehrer", mail="tom.lehrer@schule-mv.de")
        f.kontext(s, tom, state.schule, "LEHR")
        f.kontext(s, tom, state.klasse, "LEHR")
        tina = f.person(s, "tina.tafel", "Tina", "Tafel", mail="tina.tafel@schule-mv.de")
        f.kontext(s, tina, state.schule, "LEHR")
        lea = f.person(s, "lea.lern", "Lea", "Lern")
        f.kontext(s, lea, state.schule, "LERN")
        f.kontext(s, lea, state.klasse, "LERN")
        s.add(ServiceActivation(schule_id=state.schule.id, service_code="itslearning"))
        s.commit()
        return School(tom.id, tina.id, lea.id, state.schule.id, state.klasse.id)


def mail_directory(server: SlapdServer) -> LdapMailConnector:
    """A connector on a fresh branch of the test slapd (each test its own)."""
    base = f"ou=t{uuid.uuid4().hex[:10]},{server.suffix}"
    with server.connect() as connection:
        connection.add(base, ["organizationalUnit"], {"ou": base.split(",")[0][3:]})
    return LdapMailConnector(
        "email", server.url, server.admin_dn, server.admin_password, base, timeout=2
    )


def changed(site: Flask, *person_ids: uuid.UUID) -> None:
    with data(site) as s:
        for person_id in person_ids:
            outbox.person_changed(s, person_id)
        s.commit()


def work(site: Flask, connectors: dict) -> Stats:
    """Run the worker until the outbox has nothing due; the summed stats."""
    total = Stats()
    with site.app_context():
        worker = Worker(db.session, current_policies(), provisioning_settings(), connectors)
        while True:
            stats = worker.run_once()
            if not stats.events:
                break
            for name in ("events", "written", "deleted", "unchanged", "retried", "dead"):
                setattr(total, name, getattr(total, name) + getattr(stats, name))
            total.errors.extend(stats.errors)
        db.session.remove()
    return total
