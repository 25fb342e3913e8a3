"""Account operations shared by the login pages, self-service and the operator commands."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, replace

from flask_babel import gettext as _
from sqlalchemy import (
    Date,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from idp.auth import passwords, totp
from idp.auth.guard import ACCOUNT, IP, Counter
from idp.auth.settings import AuthSettings
from idp.clock import now, today
from idp.models import (
    LoginThrottle,
    Organisation,
    Person,
    Personenkontext,
    PersonStatus,
    TotpCredential,
)
from idp.policy.facts import PERSON_COLUMNS, load_person_facts
from idp.policy.loader import Policies
from idp.policy.second_factor import (
    decided_by_roles,
    has_admin_rights,
    second_factor_required,
)
from idp.prepared import Prepared

security_log = logging.getLogger("idp.security")


class PasswordRejected(ValueError):
    """A new password breaks the rules; `problems` says which, in German."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def find_account(session: Session, login_name: str) -> Person | None:
    """The person logging in as `login_name`: username or mail address, any letter case."""
    found = find_login(session, login_name).person
    return session.get(Person, found.id) if found is not None else None


# A person as a login reads them: a plain row (not an ORM object) of what the policy rules
# read and of the password fields (a named tuple, see idp.prepared). Pages that change a
# person load the object.
LoginPerson = tuple
_PERSON = Person.__table__
_TOTP = TotpCredential.__table__
_KONTEXT = Personenkontext.__table__
_ORGANISATION = Organisation.__table__


@dataclass(frozen=True)
class Account:
    """The person behind a login name, with what a login asks about them next."""

    person: LoginPerson | None
    enrolled: bool = False  # has a confirmed second factor
    roles: tuple[tuple[str, str], ...] = ()  # (rolle, organisation type) active today
    # The guard's records of the keys asked about, where read in the same query (else None).
    counters: tuple[Counter, ...] | None = None


# Built once: every login asks this, and building it costs more than running it on SQLite.
# Core tables: a row costs half of what loading an ORM object does.
_ROLES = (
    select(
        func.aggregate_strings(
            _KONTEXT.c.rolle + "@" + cast(_ORGANISATION.c.typ, String),
            # Written into the statement: a separator given as a string is a parameter that
            # is rendered into the SQL anew on every execution.
            literal_column("','"),
        )
    )
    .select_from(_KONTEXT.join(_ORGANISATION, _ORGANISATION.c.id == _KONTEXT.c.organisation_id))
    .where(
        _KONTEXT.c.person_id == _PERSON.c.id,
        Personenkontext.active_on(bindparam("on", type_=Date())),
    )
    .correlate(_PERSON)
    .scalar_subquery()
)
_NAME = bindparam("name", type_=String())
_LOGIN_COLUMNS = (
    *PERSON_COLUMNS,
    _PERSON.c.password_hash,
    _PERSON.c.must_change_password,
    _PERSON.c.password_set_at,
    _TOTP.c.confirmed_at,
    _ROLES.label("roles"),
)
_IS_NAMED = or_(_PERSON.c.username == _NAME, _PERSON.c.mail == _NAME)
_FIND_LOGIN = Prepared(
    select(*_LOGIN_COLUMNS)
    .select_from(_PERSON.outerjoin(_TOTP, _TOTP.c.person_id == _PERSON.c.id))
    .where(_IS_NAMED),
    named=True,
)
# The same and the guard's records of two keys (of the name and of the address), in one row
# whether or not anyone has that name: one query less on every login by username.
_THROTTLE = LoginThrottle.__table__
_BY_NAME = _THROTTLE.alias("counter_of_name")
_BY_ADDRESS = _THROTTLE.alias("counter_of_address")
_ONE_ROW = select(literal_column("1").label("one")).subquery("one_row")
_FIND_LOGIN_AND_COUNTERS = Prepared(
    select(
        *_LOGIN_COLUMNS,
        _BY_NAME.c.last_failure_at.label("name_last_failure_at"),
        _BY_NAME.c.blocked_until.label("name_blocked_until"),
        _BY_ADDRESS.c.last_failure_at.label("address_last_failure_at"),
        _BY_ADDRESS.c.blocked_until.label("address_blocked_until"),
    ).select_from(
        _ONE_ROW.outerjoin(_PERSON, _IS_NAMED)
        .outerjoin(_TOTP, _TOTP.c.person_id == _PERSON.c.id)
        .outerjoin(_BY_NAME, _BY_NAME.c.key_hash == bindparam(ACCOUNT, type_=String()))
        .outerjoin(_BY_ADDRESS, _BY_ADDRESS.c.key_hash == bindparam(IP, type_=String()))
    ),
    named=True,
)
_REHASH = Prepared(
    update(_PERSON)
    .where(_PERSON.c.id == bindparam("person_id", type_=_PERSON.c.id.type))
    .values(password_hash=bindparam("new_hash"), updated_at=bindparam("at"))
)


def find_login(session: Session, login_name: str, keys: dict[str, str] | None = None) -> Account:
    """The person, their second factor and their active roles, in one query.

    With the guard's `keys` of the name as typed and of the client address, the same query
    reads their counters too, unless the name looks like a mail address: a login by mail is
    counted under the username, which only this query finds. Whether the counters come along
    depends on the name's form alone, never on whether someone has it.
    """
    name = login_name.strip().casefold()
    if not name or len(name) > 255:
        return Account(None)
    params = {"name": name, "on": today()}
    connection = session.connection()
    if keys is None or "@" in name:
        return _account(_FIND_LOGIN.run(connection, params).first())
    # One row, but two if the name is one person's username and another's mail address.
    row = _FIND_LOGIN_AND_COUNTERS.run(connection, {**params, **keys}).first()
    counters = tuple(
        Counter(kind, last, until)
        for kind, last, until in (
            (ACCOUNT, row.name_last_failure_at, row.name_blocked_until),
            (IP, row.address_last_failure_at, row.address_blocked_until),
        )
        if last is not None
    )
    return replace(_account(row if row.id is not None else None), counters=counters)


def _account(found: LoginPerson | None) -> Account:
    if found is None:
        return Account(None)
    pairs = tuple(tuple(item.split("@", 1)) for item in (found.roles or "").split(",") if item)
    return Account(found, found.confirmed_at is not None, pairs)  # type: ignore[arg-type]


def min_length(session: Session, policies: Policies, settings: AuthSettings, person: Person) -> int:
    facts = load_person_facts(session, policies, person)
    return settings.min_length_admin if has_admin_rights(policies, facts) else settings.min_length


def needs_second_factor(
    session: Session,
    policies: Policies,
    person: Person | LoginPerson,
    roles: tuple[tuple[str, str], ...] | None = None,
) -> bool:
    """Whether policy requires this person to have a second factor.

    `roles` (from `find_login`) spare the query; for most people they decide alone.
    """
    if roles is None:
        rows = session.execute(
            select(Personenkontext.rolle, Organisation.typ)
            .join(Organisation, Organisation.id == Personenkontext.organisation_id)
            .where(Personenkontext.person_id == person.id, Personenkontext.active_on(today()))
        ).all()
        roles = tuple((rolle, str(typ)) for rolle, typ in rows)
    decided = decided_by_roles(policies, roles)
    if decided is not None:
        return decided
    return second_factor_required(policies, load_person_facts(session, policies, person))


def set_password(
    session: Session,
    policies: Policies,
    settings: AuthSettings,
    person: Person,
    new: str,
    *,
    initial: bool = False,
) -> None:
    """Check `new` against the rules and store its hash; raises PasswordRejected."""
    found = passwords.problems(
        new,
        min_length=min_length(session, policies, settings, person),
        personal=(person.username, person.vorname, person.familienname),
    )
    if not found and person.password_hash:
        # An initial password must not become the long-term one (ASVS V6.4.1).
        same, _rehash = passwords.verify(settings.hashing, new, person.password_hash)
        if same:
            found.append(_("Das neue Passwort muss sich vom bisherigen unterscheiden."))
    if found:
        raise PasswordRejected(found)
    person.password_hash = passwords.hash_password(settings.hashing, new)
    person.must_change_password = initial
    person.password_set_at = now()


def issue_initial_password(settings: AuthSettings, person: Person) -> str:
    """A new generated password the person must change at the first login; returned once."""
    password = passwords.generate_initial(settings.initial_length)
    person.password_hash = passwords.hash_password(settings.hashing, password)
    person.must_change_password = True
    person.password_set_at = now()
    return password


def initial_password_expired(settings: AuthSettings, person: Person | LoginPerson) -> bool:
    """An initial password not changed within `initial_valid_days` no longer works."""
    if not person.must_change_password or person.password_set_at is None:
        return False
    return now() - person.password_set_at > dt.timedelta(days=settings.initial_valid_days)


def second_factor_ok(
    session: Session, settings: AuthSettings, person: Person | LoginPerson, code: str
) -> bool:
    """A current TOTP code or an unused recovery code of the person."""
    cred = totp.credential(session, person.id)
    if cred is None:
        return False
    if totp.looks_like_recovery_code(code):
        return totp.use_recovery_code(session, settings.hashing, person.id, code)
    return totp.verify_code(session, cred, code, settings.totp_window)


@dataclass(frozen=True)
class Attempt:
    """The result of checking a login form: who, and by which methods (RFC 8176)."""

    person: LoginPerson | None
    amr: tuple[str, ...] = ()
    enrolled: bool = False  # has a confirmed second factor
    had_failures: bool = True  # the account has failed attempts on record
    roles: tuple[tuple[str, str], ...] | None = None  # active (rolle, organisation type)

    @property
    def ok(self) -> bool:
        return self.person is not None


FAILED = Attempt(None)


def guard_keys(
    settings: AuthSettings, login_name: str, person: Person | LoginPerson | None, ip: str
) -> dict:
    # A person's username and mail address share one counter.
    name = person.username if person is not None else login_name
    return {
        ACCOUNT: settings.guard.key(ACCOUNT, name),
        IP: settings.guard.key(IP, ip or "-"),
    }


def check_credentials(
    session: Session,
    settings: AuthSettings,
    login_name: str,
    password: str,
    ip: str,
    code: str | None = None,
) -> Attempt:
    """Check name and password (and a code, if given), observing the brute-force guard.

    Unknown names, wrong passwords, inactive and locked accounts all take one hash check and
    come back as FAILED. While a name or address is locked, only the right password together
    with a right second factor gets through; failures during the lock are not counted (so the
    lock runs out) unless the password was right and the code wrong.
    """
    by_name = guard_keys(settings, login_name, None, ip)
    account = find_login(session, login_name, by_name)
    person = account.person
    keys = guard_keys(settings, login_name, person, ip) if person is not None else by_name
    if account.counters is not None and keys == by_name:
        state = settings.guard.judge(account.counters)
    else:
        state = settings.guard.look(session, keys)
    blocked = state.blocked
    right, new_hash = passwords.verify(
        settings.hashing, password, person.password_hash if person is not None else None
    )
    usable = (
        right
        and person is not None
        and person.status == PersonStatus.AKTIV
        and not initial_password_expired(settings, person)
    )
    if not usable:
        if not blocked:
            settings.guard.failed(session, keys)
        _log("login.failed", person, ip, blocked=bool(blocked))
        return FAILED
    assert person is not None
    if new_hash:
        _REHASH.run(
            session.connection(), {"person_id": person.id, "new_hash": new_hash, "at": now()}
        )
    if code or blocked:
        if code and second_factor_ok(session, settings, person, code):
            return Attempt(
                person, ("otp", "pwd"), account.enrolled, ACCOUNT in state.counted, account.roles
            )
        if code:
            settings.guard.failed(session, keys)
        _log("login.failed", person, ip, blocked=bool(blocked), second_factor=bool(code))
        return FAILED
    return Attempt(person, ("pwd",), account.enrolled, ACCOUNT in state.counted, account.roles)


def check_code(
    session: Session, settings: AuthSettings, person: Person, code: str, ip: str
) -> bool | None:
    """The second step of a login; None when the guard no longer lets this login continue."""
    keys = guard_keys(settings, person.username, person, ip)
    if settings.guard.blocked(session, keys):
        _log("login.code_blocked", person, ip)
        return None
    if second_factor_ok(session, settings, person, code):
        return True
    settings.guard.failed(session, keys)
    _log("login.code_failed", person, ip)
    return False


def logged_in(
    session: Session,
    settings: AuthSettings,
    person: Person | LoginPerson,
    ip: str,
    had_failures: bool = True,
) -> None:
    """A login completed: forget the account's failures, note it in the security log."""
    if had_failures:
        settings.guard.succeeded(session, [settings.guard.key(ACCOUNT, person.username)])
    _log("login.success", person, ip)


def _log(event: str, person: Person | LoginPerson | None, ip: str, **details: object) -> None:
    extra = " ".join(f"{k}={v}" for k, v in details.items())
    subject = person.id if person is not None else "-"
    security_log.info("%s person=%s ip=%s %s", event, subject, ip, extra)


def person_by_id(session: Session, person_id: str | uuid.UUID) -> Person | None:
    return session.get(Person, uuid.UUID(str(person_id)))
