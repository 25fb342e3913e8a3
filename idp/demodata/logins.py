"""Demo logins: pick a learner, a teacher, a school admin and a ministry official of the
imported demo state and give them fresh passwords (the official also a second factor)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.auth import accounts, totp
from idp.auth.settings import AuthSettings
from idp.clock import today
from idp.models import Organisation, OrganisationTyp, Person, Personenkontext
from idp.policy.loader import Policies

DEMO_SOURCE = "demo"


@dataclass(frozen=True)
class DemoLogin:
    rolle: str
    username: str
    password: str
    note: str
    totp_secret: str | None = None


class NoDemoState(Exception):
    """The database holds no imported demo state to pick persons from."""


def create_demo_logins(
    session: Session, settings: AuthSettings, policies: Policies
) -> list[DemoLogin]:
    """Give four demo persons known credentials; repeated runs pick the same persons."""
    learner = _first_with(session, "LERN", OrganisationTyp.SCHULE)
    teacher = _first_with(session, "LEHR", OrganisationTyp.SCHULE)
    official = _first_with(session, "MINISTERIUM_MA", OrganisationTyp.MINISTERIUM)
    admin = _first_with(session, "LEHR", OrganisationTyp.SCHULE, skip=teacher)
    school = _school_of(session, admin)
    _give_role(session, admin, school, "IDM_SCHULE")
    ministry = session.get(Organisation, _ministry_of(session, official))
    _give_role(session, official, ministry, "LANDESADMIN")  # the whole console, for the demo
    for person in (learner, teacher, admin):
        totp.remove(session, person.id)  # a repeated run shows the enrolment again
    logins = [
        _login(settings, learner, "Schülerin/Schüler", initial=True),
        _login(settings, teacher, "Lehrkraft"),
        _login(settings, admin, f"IDM-Verantwortliche/r ({school.name})"),
    ]
    totp.remove(session, official.id)
    secret = totp.new_secret()
    totp.save_confirmed(session, official.id, secret, step=0)
    logins.append(
        _login(settings, official, "Bildungsministerium (Landesadmin)", totp_secret=secret)
    )
    return [
        DemoLogin(**{**asdict(login), "note": _note(session, policies, login)}) for login in logins
    ]


def _note(session: Session, policies: Policies, login: DemoLogin) -> str:
    """What the login will ask besides the password, as policy says."""
    person = session.scalars(select(Person).where(Person.username == login.username)).one()
    notes = []
    if person.must_change_password:
        notes.append("muss das Passwort bei der ersten Anmeldung ändern")
    if login.totp_secret:
        notes.append("zweiter Faktor eingerichtet (Geheimnis nur für die Demo angezeigt)")
    elif accounts.needs_second_factor(session, policies, person):
        notes.append("richtet bei der ersten Anmeldung den zweiten Faktor ein")
    return "; ".join(notes)


def _login(
    settings: AuthSettings,
    person: Person,
    rolle: str,
    *,
    initial: bool = False,
    totp_secret: str | None = None,
) -> DemoLogin:
    password = accounts.issue_initial_password(settings, person)
    person.must_change_password = initial
    return DemoLogin(rolle, person.username, password, "", totp_secret)


def _first_with(
    session: Session, rolle: str, typ: OrganisationTyp, skip: Person | None = None
) -> Person:
    query = (
        select(Person)
        .join(Personenkontext, Personenkontext.person_id == Person.id)
        .join(Organisation, Organisation.id == Personenkontext.organisation_id)
        .where(
            Personenkontext.rolle == rolle,
            Organisation.typ == typ,
            Personenkontext.active_on(today()),
        )
        .order_by(Organisation.kennung, Person.sortname, Person.username)
    )
    if skip is not None:
        query = query.where(Person.id != skip.id)
    person = session.scalars(query.limit(1)).first()
    if person is None:
        raise NoDemoState(f"keine Person mit der Rolle {rolle}: ist der Demo-Export importiert?")
    return person


def _give_role(session: Session, person: Person, organisation: Organisation, rolle: str) -> None:
    """Add the role unless the person holds it there already (repeated runs)."""
    if not session.scalar(
        select(Personenkontext.id).where(
            Personenkontext.person_id == person.id,
            Personenkontext.rolle == rolle,
            Personenkontext.organisation_id == organisation.id,
        )
    ):
        session.add(
            Personenkontext(
                person_id=person.id,
                organisation_id=organisation.id,
                rolle=rolle,
                valid_from=today(),
                source=DEMO_SOURCE,
            )
        )
        session.flush()


def _ministry_of(session: Session, person: Person):
    return session.scalars(
        select(Personenkontext.organisation_id).where(
            Personenkontext.person_id == person.id, Personenkontext.rolle == "MINISTERIUM_MA"
        )
    ).first()


def _school_of(session: Session, person: Person) -> Organisation:
    return session.scalars(
        select(Organisation)
        .join(Personenkontext, Personenkontext.organisation_id == Organisation.id)
        .where(Personenkontext.person_id == person.id, Organisation.typ == OrganisationTyp.SCHULE)
        .order_by(Organisation.kennung)
        .limit(1)
    ).one()


DEMO_CLIENT_NAME = "Demo-Dienst"


def register_demo_client(session: Session, policies: Policies, issuer: str, base: str) -> dict:
    """(Re-)register the demo relying party for the Stundenplan service; its secret is new."""
    from sqlalchemy import delete

    from idp.models import OAuthClient
    from idp.oidc import clients

    session.execute(delete(OAuthClient).where(OAuthClient.name == DEMO_CLIENT_NAME))
    registered = clients.register(
        session,
        policies,
        name=DEMO_CLIENT_NAME,
        service="stundenplan",
        redirect_uris=[f"{base}/callback"],
        post_logout_redirect_uris=[f"{base}/"],
        backchannel_logout_uri=f"{base}/backchannel-logout",
        initiate_login_uri=f"{base}/login",
    )
    return {
        "issuer": issuer.rstrip("/"),
        "client_id": registered.client.client_id,
        "client_secret": registered.secret,
    }
