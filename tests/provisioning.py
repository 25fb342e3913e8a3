"""Arranging provisioning tests: a small school, a mail directory, a worker."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from flask import Flask

from connectors.ldap_mail import LdapMailConnector
from idp.extensions import db
from idp.models import Organisation, ServiceActivation
from idp.policy import current_policies
from idp.provisioning import outbox
from idp.provisioning.settings import ProvisioningSettings, provisioning_settings
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


def work(site: Flask, connectors: dict, batch_size: int | None = None) -> Stats:
    """Run the worker until the outbox has nothing due; the summed stats."""
    with site.app_context():
        worker = Worker(db.session, current_policies(), settings(batch_size), connectors)
        stats = worker.work_off()
        db.session.remove()
    return stats


def settings(batch_size: int | None = None) -> ProvisioningSettings:
    """The worker's settings from the config, with batches of `batch_size` events: with 1, more
    than 10 due events are a long queue (idp.provisioning.worker.BACKLOG)."""
    found = provisioning_settings()
    return found if batch_size is None else replace(found, batch_size=batch_size)


def learners(site: Flask, schule: uuid.UUID, count: int) -> list[uuid.UUID]:
    with data(site) as s:
        made = []
        for n in range(count):
            learner = f.person(s, f"l{n:02d}.lern", "Lena", f"Lern{n:02d}")
            f.kontext(s, learner, s.get(Organisation, schule), "LERN")
            made.append(learner.id)
        s.commit()
        return made
