"""`idp worker`, `idp sync SERVICE|status`, `idp outbox dead|replay`: provisioning."""

from __future__ import annotations

import signal
import time

import click
from sqlalchemy import func, select, update

from idp.commands.context import UsageProblem, print_json, with_headless_app
from idp.extensions import db


def register(cli: click.Group) -> None:
    cli.add_command(worker)
    cli.add_command(sync)
    cli.add_command(outbox_group)


def _connectors():
    from flask import current_app

    from connectors.settings import ConnectorConfigError
    from idp.policy import current_policies
    from idp.provisioning.registry import configured

    try:
        return configured(current_app.config["IDP"], current_policies())
    except ConnectorConfigError as exc:
        raise UsageProblem(str(exc)) from None


@click.command()
@click.option("--once", is_flag=True, help="Nur abarbeiten, was jetzt fällig ist, dann enden.")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON (mit --once).")
@with_headless_app
def worker(once: bool, as_json: bool) -> None:
    """Work off the outbox: bring every account at every target to its desired state."""
    from idp.policy import current_policies
    from idp.provisioning.settings import provisioning_settings
    from idp.provisioning.worker import Stats, Worker

    connectors = _connectors()
    if not connectors:
        raise UsageProblem("keine Ziele eingerichtet: [connectors.*] in der Konfiguration")
    settings = provisioning_settings()
    runner = Worker(db.session, current_policies(), settings, connectors)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    total = Stats()
    try:
        while not stopping:
            stats = runner.work_off(stop=lambda: bool(stopping))
            total.add(stats)
            if once:
                break
            if not stats.events:
                time.sleep(settings.poll_seconds)
    finally:
        for connector in connectors.values():
            connector.close()
    summary = total.summary()
    if as_json:
        print_json(summary)
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in summary.items()))


class _SyncGroup(click.Group):
    """`idp sync status`, and `idp sync SERVICE ...` for any configured service."""

    def get_command(self, ctx, cmd_name):
        found = super().get_command(ctx, cmd_name)
        return found if found is not None else _sync_service_command(cmd_name)

    def list_commands(self, ctx):
        return ["status", "SERVICE"]


@click.group(cls=_SyncGroup)
def sync() -> None:
    """Reconcile a target with the desired state (`idp sync SERVICE --full [--report]`)."""


def _sync_service_command(service: str) -> click.Command:
    @click.command(name=service)
    @click.option("--full", is_flag=True, required=True, help="Alle Konten vergleichen.")
    @click.option("--report", is_flag=True, help="Nur berichten, nichts ändern.")
    @click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
    @with_headless_app
    def run(full: bool, report: bool, as_json: bool) -> None:
        """Compare SERVICE's target with what it should hold; repair drift unless --report."""
        from connectors.base import TargetUnavailable
        from idp.policy import current_policies
        from idp.provisioning.settings import provisioning_settings
        from idp.provisioning.sync import reconcile

        connectors = _connectors()
        by_name = {c.name: c for c in connectors.values()}
        connector = connectors.get(service) or by_name.get(service)
        if connector is None:
            raise UsageProblem(f"{service}: kein eingerichtetes Ziel (Dienst oder Connector)")
        try:
            result = reconcile(
                db.session,
                current_policies(),
                provisioning_settings().secret_key,
                connector,
                repair=not report,
            )
        except TargetUnavailable as exc:
            raise UsageProblem(f"{service}: Ziel nicht erreichbar: {exc}") from None
        finally:
            connector.close()
        summary = result.summary()
        if as_json:
            print_json(summary)
            return
        click.echo(
            f"{summary['service']} ({summary['connector']}): {summary['desired']} gewünscht, "
            f"{summary['held']} vorhanden; fehlend {summary['missing']}, abweichend "
            f"{summary['changed']}, überzählig {summary['extra']}; Gruppen: fehlend "
            f"{summary['groups_missing']}, abweichend {summary['groups_changed']}, "
            f"überzählig {summary['groups_extra']}" + ("; repariert" if summary["repaired"] else "")
        )
        for problem in summary["problems"]:
            click.echo(f"  {problem}")

    return run


@sync.command("status")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_headless_app
def status_command(as_json: bool) -> None:
    """Per service: accounts by state; the outbox: events by state."""
    from idp.models import OutboxEvent, ProvisionedAccount

    accounts: dict[str, dict[str, int]] = {}
    for service, state, count in db.session.execute(
        select(ProvisionedAccount.service_code, ProvisionedAccount.status, func.count()).group_by(
            ProvisionedAccount.service_code, ProvisionedAccount.status
        )
    ):
        accounts.setdefault(service, {})[state] = count
    events = dict(
        db.session.execute(
            select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)
        ).all()
    )
    if as_json:
        print_json({"accounts": accounts, "outbox": events})
        return
    # Imported here: `idp worker` and `idp sync` start without rich (about 60 ms).
    from rich.console import Console
    from rich.table import Table

    table = Table("Dienst", "ok", "deaktiviert", "ausstehend", "Fehler")
    for service, counts in sorted(accounts.items()):
        table.add_row(
            service,
            *(str(counts.get(k, 0)) for k in ("ok", "disabled", "pending", "error")),
        )
    Console().print(table)
    click.echo("Ausgang: " + ", ".join(f"{k} {v}" for k, v in sorted(events.items())))


@click.group("outbox")
def outbox_group() -> None:
    """Provisioning events that a target refused or that failed too often."""


@outbox_group.command("dead")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_headless_app
def dead_command(as_json: bool) -> None:
    """List parked events with their last error."""
    from idp.models import OutboxEvent

    rows = [
        {
            "id": e.id,
            "created_at": e.created_at.isoformat(),
            "object_type": e.object_type,
            "object_id": str(e.object_id),
            "service": e.service,
            "attempts": e.attempts,
            "last_error": e.last_error,
        }
        for e in db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.status == "dead").order_by(OutboxEvent.id)
        )
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['id']}  {row['object_type']} {row['object_id']}  {row['last_error']}")
    click.echo(f"{len(rows)} geparkte Ereignisse.")


@outbox_group.command("replay")
@click.option("--id", "ids", type=int, multiple=True, help="Nur diese Ereignisse.")
@click.option("--all", "everything", is_flag=True, help="Alle geparkten Ereignisse.")
@with_headless_app
def replay_command(ids: tuple[int, ...], everything: bool) -> None:
    """Give parked events to the worker again (their attempts start from zero)."""
    from idp.clock import now
    from idp.models import OutboxEvent

    if not ids and not everything:
        raise UsageProblem("--id N oder --all angeben")
    statement = update(OutboxEvent).where(OutboxEvent.status == "dead")
    if ids:
        statement = statement.where(OutboxEvent.id.in_(ids))
    done = db.session.execute(
        statement.values(status="pending", attempts=0, not_before=now(), last_error=None)
    ).rowcount
    db.session.commit()
    click.echo(f"{done} Ereignisse wieder in den Ausgang gestellt.")
