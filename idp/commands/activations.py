"""`idp activations list|request|approve|request-learners|provision-teachers|provision-learners`.

The per-school application for a service (idp/activations.py), driven by operators: for one
school (`--school`) or for every school of a Schulamt at once (`--schulamt`, all or nothing).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from idp import activations
from idp.commands.context import UsageProblem, actor_name, print_json, with_app
from idp.extensions import db
from idp.models import ActivationState, Organisation, OrganisationTyp, Person, ServiceActivation

ACTOR = click.option("--actor", default=None, help="Wer (für das Protokoll).")
JSON = click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
SERVICE = click.option("--service", required=True, help="Dienst-Code aus policies/services.toml.")


def schools(func: Callable) -> Callable:
    """--school KENNUNG or --schulamt KENNUNG (exactly one)."""
    func = click.option(
        "--schulamt", "schulamt_kennung", metavar="KENNUNG", help="Alle Schulen dieses Schulamts."
    )(func)
    return click.option("--school", "school_kennung", metavar="KENNUNG", help="Eine Schule.")(func)


def register(cli: click.Group) -> None:
    cli.add_command(activations_group)


@click.group("activations")
def activations_group() -> None:
    """Anträge der Schulen auf Dienste (z. B. itslearning)."""


@activations_group.command("list")
@click.option("--service", default=None, help="Nur dieser Dienst.")
@click.option("--schulamt", "schulamt_kennung", metavar="KENNUNG", help="Nur dessen Schulen.")
@click.option("--state", type=click.Choice([s.value for s in ActivationState]), default=None)
@JSON
@with_app
def list_command(
    service: str | None, schulamt_kennung: str | None, state: str | None, as_json: bool
) -> None:
    """List the applications with their state and who took each step when."""
    schulamt = _schulamt(schulamt_kennung) if schulamt_kennung else None
    rows = activations.list_activations(
        db.session,
        service_code=service,
        schulamt=schulamt,
        state=ActivationState(state) if state else None,
    )
    if as_json:
        print_json(rows)
        return
    table = Table("Schule", "Name", "Schulamt", "Dienst", "Stand", "seit", "Erstansprechpersonen")
    for row in rows:
        table.add_row(
            row["schule_kennung"],
            row["schule_name"],
            row["schulamt_kennung"] or "—",
            row["service"],
            row["state_label"],
            row["updated_at"][:10],
            ", ".join(c["username"] or c["id"] for c in row["kontaktpersonen"]) or "—",
        )
    Console().print(table)


@activations_group.command("request")
@schools
@SERVICE
@click.option(
    "--contact",
    "contacts",
    multiple=True,
    metavar="USERNAME",
    help="Erstansprechperson (höchstens zwei; nur mit --school).",
)
@click.option("--confirm-avv", is_flag=True, help="Auftragsverarbeitungsvertrag bestätigt.")
@click.option(
    "--confirm-joint", is_flag=True, help="Vereinbarung zur gemeinsamen Verantwortung bestätigt."
)
@JSON
@ACTOR
@with_app
def request_command(
    school_kennung: str | None,
    schulamt_kennung: str | None,
    service: str,
    contacts: tuple[str, ...],
    confirm_avv: bool,
    confirm_joint: bool,
    as_json: bool,
    actor: str | None,
) -> None:
    """Apply for a service, with both agreements confirmed (state: Verträge bestätigt)."""
    from idp.policy import current_policies

    if contacts and schulamt_kennung:
        raise UsageProblem("--contact gilt für eine Schule: nur mit --school, nicht mit --schulamt")
    contact_ids = [_person_id(username) for username in contacts]
    policies = current_policies()
    _take_step(
        school_kennung,
        schulamt_kennung,
        as_json,
        lambda schule, note: activations.request(
            db.session,
            policies,
            schule,
            service,
            actor_name(actor),
            contact_ids,
            confirm_avv,
            confirm_joint,
            note=note,
        ),
    )


@activations_group.command("approve")
@schools
@SERVICE
@click.option("--learners", is_flag=True, help="Die Zugänge der Schülerinnen und Schüler.")
@JSON
@ACTOR
@with_app
def approve_command(
    school_kennung: str | None,
    schulamt_kennung: str | None,
    service: str,
    learners: bool,
    as_json: bool,
    actor: str | None,
) -> None:
    """Approve (ministry) the application, or with --learners the learners' access data."""
    _take_step(
        school_kennung,
        schulamt_kennung,
        as_json,
        lambda schule, note: activations.approve(
            db.session, schule, service, actor_name(actor), learners=learners, note=note
        ),
    )


def _simple_step(name: str, help_text: str, take: Callable[..., ServiceActivation]) -> None:
    """A step command that needs only the school(s), the service and the actor."""

    @activations_group.command(name, help=help_text)
    @schools
    @SERVICE
    @JSON
    @ACTOR
    @with_app
    def command(
        school_kennung: str | None,
        schulamt_kennung: str | None,
        service: str,
        as_json: bool,
        actor: str | None,
    ) -> None:
        _take_step(
            school_kennung,
            schulamt_kennung,
            as_json,
            lambda schule, note: take(db.session, schule, service, actor_name(actor), note=note),
        )


_simple_step(
    "request-learners",
    "Ask, for the school, for the learners' access data (after the teachers have theirs).",
    activations.request_learners,
)
_simple_step(
    "provision-teachers",
    "Record that the teachers' access data have been set up and sent to the school.",
    activations.mark_provisioned,
)
_simple_step(
    "provision-learners",
    "Record that the learners' access data have been set up and sent to the school.",
    functools.partial(activations.mark_provisioned, learners=True),
)


def _take_step(
    school_kennung: str | None,
    schulamt_kennung: str | None,
    as_json: bool,
    step: Callable[[Organisation, str | None], ServiceActivation],
) -> None:
    """One step for one school or all schools of a Schulamt, in one transaction."""
    if bool(school_kennung) == bool(schulamt_kennung):
        raise UsageProblem("genau eines von --school KENNUNG und --schulamt KENNUNG angeben")
    if school_kennung:
        targets, note = [_school(school_kennung)], None
    else:
        schulamt = _schulamt(schulamt_kennung or "")
        targets = activations.schools_of(db.session, schulamt)
        note = f"für alle Schulen des Schulamts {schulamt.kennung}"
    try:
        done = activations.for_schools(targets, lambda schule: step(schule, note))
    except activations.ActivationError as problem:
        db.session.rollback()
        raise UsageProblem(str(problem)) from None
    db.session.commit()
    rows = activations.describe(db.session, done)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(
            f"{row['schule_kennung']} {row['schule_name']}: {row['service']}, {row['state_label']}"
        )


def _school(kennung: str) -> Organisation:
    return _organisation(OrganisationTyp.SCHULE, kennung, "--school", "keine Schule")


def _schulamt(kennung: str) -> Organisation:
    return _organisation(OrganisationTyp.SCHULAMT, kennung, "--schulamt", "kein Schulamt")


def _organisation(typ: OrganisationTyp, kennung: str, option: str, none: str) -> Organisation:
    found = db.session.scalars(
        select(Organisation).where(Organisation.typ == typ, Organisation.kennung == kennung)
    ).one_or_none()
    if found is None:
        raise UsageProblem(f"{option} {kennung}: {none} mit dieser Kennung")
    return found


def _person_id(username: str) -> uuid.UUID:
    person_id = db.session.scalars(
        select(Person.id).where(Person.username == username.strip().lower())
    ).one_or_none()
    if person_id is None:
        raise UsageProblem(f"--contact {username}: kein Zugang mit diesem Benutzernamen")
    return person_id
