"""`idp saml add-sp|list|remove|metadata`: the SAML service providers and our metadata."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from idp import audit
from idp.commands.context import UsageProblem, actor_name, print_json, with_app
from idp.extensions import db

ACTOR = click.option("--actor", default=None, help="Wer (für das Protokoll).")


def register(cli: click.Group) -> None:
    cli.add_command(saml)


@click.group()
def saml() -> None:
    """SAML-Dienstanbieter (SP) und die Metadaten dieses IdP."""


@saml.command("add-sp")
@click.option("--metadata", "source", required=True, help="Metadaten des SP: Datei oder URL.")
@click.option("--service", required=True, help="Dienst-Code aus policies/services.toml.")
@click.option(
    "--idp-initiated", is_flag=True, help="Start von der Startseite erlauben (ohne Anfrage)."
)
@click.option(
    "--require-signed-requests",
    is_flag=True,
    help="Nur signierte Anfragen annehmen (auch ohne AuthnRequestsSigned in den Metadaten).",
)
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@ACTOR
@with_app
def add_sp_command(
    source: str,
    service: str,
    idp_initiated: bool,
    require_signed_requests: bool,
    as_json: bool,
    actor: str | None,
) -> None:
    """Register an SP from its metadata (again: refresh its metadata and settings)."""
    from idp.policy import current_policies
    from idp.saml import providers

    try:
        provider, _ = providers.register(
            db.session,
            current_policies(),
            source=source,
            service=service,
            idp_initiated=idp_initiated,
            require_signed_requests=require_signed_requests,
        )
    except providers.ProviderProblem as problem:
        raise UsageProblem(str(problem)) from None
    described = providers.describe(provider)
    audit.record(
        db.session,
        audit.Event(
            actor_name(actor),
            "saml_sp.registriert",
            provider.entity_id,
            details={"dienst": service, "quelle": source},
        ),
    )
    db.session.commit()
    if as_json:
        print_json(described)
        return
    click.echo(f"SP {provider.entity_id} für Dienst {service} registriert.")
    for location in described["acs"]:
        click.echo(f"  AssertionConsumerService: {location}")


@saml.command("list")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_app
def list_command(as_json: bool) -> None:
    """List the registered SPs."""
    from idp.saml import providers

    rows = [providers.describe(p) for p in providers.all_providers(db.session)]
    if as_json:
        print_json(rows)
        return
    table = Table("Entity-ID", "Dienst", "ACS", "signiert", "Startseite")
    for row in rows:
        table.add_row(
            row["entity_id"],
            row["service"],
            "\n".join(row["acs"]),
            "ja" if row["requests_signed"] else "nein",
            "ja" if row["idp_initiated"] else "nein",
        )
    Console().print(table)


@saml.command("remove")
@click.argument("entity_id")
@ACTOR
@with_app
def remove_command(entity_id: str, actor: str | None) -> None:
    """Remove an SP; logins it holds stay valid at the IdP."""
    from idp.saml import providers

    provider = providers.find(db.session, entity_id)
    if provider is None:
        raise UsageProblem(f"{entity_id}: kein registrierter SP")
    db.session.delete(provider)
    audit.record(db.session, audit.Event(actor_name(actor), "saml_sp.entfernt", entity_id))
    db.session.commit()
    click.echo(f"SP {entity_id} entfernt.")


@saml.command("metadata")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="In diese Datei.")
@with_app
def metadata_command(out: str | None) -> None:
    """Print (or write) our signed IdP metadata, as SPs fetch it from /saml/metadata."""
    from idp.saml.server import metadata_xml

    xml = metadata_xml(db.session)
    db.session.commit()  # the first call may have created the SAML key
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(xml)
        click.echo(f"Metadaten nach {out} geschrieben.")
    else:
        click.echo(xml)
