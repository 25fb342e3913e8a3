"""`idp users set-password|initial-passwords|totp|unlock|end-sessions`: for operators."""

from __future__ import annotations

import csv
import sys

import click

from idp import audit, persons
from idp.auth import accounts, sessions, totp
from idp.auth.guard import ACCOUNT
from idp.auth.settings import auth_settings
from idp.commands.context import UsageProblem, actor_name, print_json, with_app
from idp.commands.users import users
from idp.extensions import db
from idp.models import Person
from idp.policy import current_policies

ACTOR = click.option("--actor", default=None, help="Wer (für das Protokoll).")


def _person(username: str) -> Person:
    person = accounts.find_account(db.session, username)
    if person is None:
        raise UsageProblem(f"{username}: kein Zugang mit diesem Benutzernamen")
    return person


@users.command("set-password")
@click.argument("username")
@click.option("--initial", is_flag=True, help="Muss bei der nächsten Anmeldung geändert werden.")
@ACTOR
@with_app
def set_password_command(username: str, initial: bool, actor: str | None) -> None:
    """Set a password read from stdin (one line; nothing is echoed or logged)."""
    person = _person(username)
    line = sys.stdin.readline()
    new = line[:-1] if line.endswith("\n") else line
    if not new:
        raise UsageProblem("kein Passwort auf der Standardeingabe")
    try:
        accounts.set_password(
            db.session, current_policies(), auth_settings(), person, new, initial=initial
        )
    except accounts.PasswordRejected as rejected:
        raise UsageProblem(f"{person.username}: " + " ".join(rejected.problems)) from None
    audit.record(
        db.session,
        audit.Event(
            actor_name(actor),
            "passwort.gesetzt",
            person.username,
            details={"initial": initial},
        ),
    )
    db.session.commit()
    click.echo(f"Passwort für {person.username} gesetzt.")


@users.command("initial-passwords")
@click.argument("usernames", nargs=-1)
@click.option("--school", "school_kennung", metavar="KENNUNG", help="Alle Personen dieser Schule.")
@click.option("--only-new", is_flag=True, help="Nur Zugänge, die noch kein Passwort haben.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="CSV-Datei für die Zugangsbriefe (Benutzername, Name, Passwort).",
)
@ACTOR
@with_app
def initial_passwords_command(
    usernames: tuple[str, ...],
    school_kennung: str | None,
    only_new: bool,
    out: str,
    actor: str | None,
) -> None:
    """Generate initial passwords (changed at first login) and write them for the letters."""
    chosen = [_person(name) for name in usernames]
    if school_kennung:
        school = persons.find_school(db.session, school_kennung)
        if school is None:
            raise UsageProblem(f"--school {school_kennung}: keine Schule mit dieser Kennung")
        chosen.extend(persons.persons_of_school(db.session, school))
    if not chosen:
        raise UsageProblem("keine Personen gewählt (Benutzernamen oder --school angeben)")
    if only_new:
        chosen = [p for p in chosen if not p.password_hash]
    settings = auth_settings()
    rows = [(p, accounts.issue_initial_password(settings, p)) for p in _unique(chosen)]
    audit.append_many(
        db.session,
        [audit.Event(actor_name(actor), "passwort.initial", p.username) for p, _ in rows],
    )
    # The file is written before the commit: if writing fails, no password was changed.
    with open(out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["Benutzername", "Vorname", "Familienname", "Initialpasswort"])
        for p, password in rows:
            writer.writerow([p.username, p.vorname, p.familienname, password])
    db.session.commit()
    click.echo(f"{len(rows)} Initialpasswörter erzeugt, geschrieben nach {out}.")


@users.command("totp")
@click.argument("username")
@click.option(
    "--enrol", is_flag=True, help="Neuen zweiten Faktor einrichten (ersetzt einen alten)."
)
@click.option("--reset", is_flag=True, help="Zweiten Faktor und Wiederherstellungscodes löschen.")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@ACTOR
@with_app
def totp_command(username: str, enrol: bool, reset: bool, as_json: bool, actor: str | None) -> None:
    """Enrol (prints the secret once) or reset a person's second factor."""
    if enrol == reset:
        raise UsageProblem("genau eine von --enrol und --reset angeben")
    person = _person(username)
    settings = auth_settings()
    if reset:
        had = totp.remove(db.session, person.id)
        audit.record(
            db.session,
            audit.Event(actor_name(actor), "zweitfaktor.zurueckgesetzt", person.username),
        )
        db.session.commit()
        result = {"username": person.username, "reset": had}
        if as_json:
            print_json(result)
        else:
            click.echo(
                f"Zweiter Faktor von {person.username} "
                + ("gelöscht." if had else "war nicht eingerichtet.")
            )
        return
    secret = totp.new_secret()
    totp.save_confirmed(db.session, person.id, secret, step=0)
    codes = totp.new_recovery_codes(db.session, settings.hashing, person.id)
    audit.record(
        db.session, audit.Event(actor_name(actor), "zweitfaktor.eingerichtet", person.username)
    )
    db.session.commit()
    result = {
        "username": person.username,
        "secret": secret,
        "uri": totp.provisioning_uri(secret, person.username, settings.totp_issuer),
        "recovery_codes": codes,
    }
    if as_json:
        print_json(result)
        return
    click.echo(f"Geheimnis für {person.username} (wird nur jetzt gezeigt): {secret}")
    click.echo(f"URI: {result['uri']}")
    click.echo("Wiederherstellungscodes: " + " ".join(codes))


@users.command("unlock")
@click.argument("username")
@ACTOR
@with_app
def unlock_command(username: str, actor: str | None) -> None:
    """Lift the temporary lock after failed logins (the address limits stay)."""
    person = _person(username)
    guard = auth_settings().guard
    removed = guard.forget(db.session, ACCOUNT, person.username)
    audit.record(
        db.session, audit.Event(actor_name(actor), "anmeldesperre.aufgehoben", person.username)
    )
    db.session.commit()
    click.echo(
        f"{person.username}: " + ("Sperre aufgehoben." if removed else "war nicht gesperrt.")
    )


def _unique(chosen: list[Person]) -> list[Person]:
    seen: dict = {}
    for p in chosen:
        seen.setdefault(p.id, p)
    return list(seen.values())


@users.command("end-sessions")
@click.argument("username", required=False)
@click.option("--all", "everyone", is_flag=True, help="Alle Sitzungen aller Personen beenden.")
@ACTOR
@with_app
def end_sessions_command(username: str | None, everyone: bool, actor: str | None) -> None:
    """Log a person (or, with --all, everybody) out of every browser."""
    if bool(username) == everyone:
        raise UsageProblem("entweder einen Benutzernamen oder --all angeben")
    if everyone:
        count = sessions.end_everyone(db.session)
        target = "*"
    else:
        person = _person(username or "")
        count = sessions.end_other(db.session, person.id)
        target = person.username
    audit.record(
        db.session,
        audit.Event(actor_name(actor), "sitzungen.beendet", target, details={"anzahl": count}),
    )
    db.session.commit()
    click.echo(f"{count} Sitzungen beendet.")
