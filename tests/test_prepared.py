"""idp.prepared: a prebuilt statement run on the driver's cursor gives what Connection.execute
gives (values through the column types both ways), in the same transaction, with
SQLAlchemy's errors; statements it cannot run faithfully are refused when first run."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import bindparam, delete, insert, literal, select, union_all, update
from sqlalchemy.exc import IntegrityError

from idp.clock import now
from idp.models import LoginSession, Person, PersonStatus
from idp.prepared import Prepared
from tests import factories as f

PERSON = Person.__table__
LOGINS = LoginSession.__table__
_BY_ID = bindparam("person_id", type_=PERSON.c.id.type)
_COLUMNS = (
    PERSON.c.id,
    PERSON.c.status,
    PERSON.c.username,
    PERSON.c.mail_aliases,
    PERSON.c.geburtsdatum,
    PERSON.c.created_at,
)
READ = Prepared(select(*_COLUMNS).where(PERSON.c.id == _BY_ID), named=True)
READ_PLAIN = Prepared(select(*_COLUMNS).where(PERSON.c.id == _BY_ID))
RENAME = Prepared(
    update(PERSON)
    .where(PERSON.c.id == _BY_ID)
    .values(username=bindparam("name"), updated_at=bindparam("at"))
)
INSERT_LOGIN = Prepared(insert(LOGINS))
DELETE_LOGIN = Prepared(delete(LOGINS).where(LOGINS.c.person_id == _BY_ID))
TAGGED = Prepared(
    union_all(
        select(literal("p"), PERSON.c.username).where(PERSON.c.id == _BY_ID),
        select(literal("q"), PERSON.c.vorname).where(PERSON.c.id == _BY_ID),
    )
)


@pytest.fixture
def person(session):
    p = f.person(
        session,
        "tom.lehrer",
        "Tom",
        "Lehrer",
        mail="tom.lehrer@schule-mv.de",
        mail_aliases=["t.lehrer@schule-mv.de"],
        geburtsdatum=dt.date(2010, 5, 17),
    )
    session.commit()
    return p


def _login_values(person_id: uuid.UUID) -> dict:
    at = now()
    return {
        "id": uuid.uuid4(),
        "token_hash": uuid.uuid4().hex,
        "person_id": person_id,
        "data": {"lang": "de"},
        "created_at": at,
        "last_seen_at": at,
        "expires_at": at + dt.timedelta(hours=8),
        "auth_time": at,
        "amr": ["pwd"],
        "otp_time": None,
        "ip": "127.0.0.1",
        "user_agent": "test",
    }


def test_rows_carry_the_same_values_as_connection_execute(session, person):
    statement = select(*_COLUMNS).where(PERSON.c.id == _BY_ID)
    expected = session.connection().execute(statement, {"person_id": person.id}).one()

    row = READ.run(session.connection(), {"person_id": person.id}).one_or_none()

    assert tuple(row) == tuple(expected)
    assert row.id == person.id and isinstance(row.id, uuid.UUID)
    assert row.status is PersonStatus.AKTIV
    assert row.mail_aliases == ["t.lehrer@schule-mv.de"]
    assert row.geburtsdatum == dt.date(2010, 5, 17)
    assert row.created_at.tzinfo is not None
    assert READ.run(session.connection(), {"person_id": uuid.uuid4()}).first() is None
    plain = READ_PLAIN.run(session.connection(), {"person_id": person.id}).first()
    assert type(plain) is tuple and plain == tuple(expected)


def test_writes_count_rows_and_stay_in_the_transaction(session, person):
    connection = session.connection()
    renamed = RENAME.run(connection, {"person_id": person.id, "name": "tom.l", "at": now()})
    assert renamed.rowcount == 1
    assert READ.run(connection, {"person_id": person.id}).first().username == "tom.l"
    session.rollback()
    session.expire_all()
    assert session.get(Person, person.id).username == "tom.lehrer"


def test_an_insert_takes_its_columns_from_the_values(session, person):
    values = _login_values(person.id)
    INSERT_LOGIN.run(session.connection(), values)
    session.commit()
    stored = session.get(LoginSession, values["id"])
    assert stored.data == {"lang": "de"} and stored.amr == ["pwd"]
    assert stored.expires_at == values["expires_at"]
    assert DELETE_LOGIN.run(session.connection(), {"person_id": person.id}).rowcount == 1


def test_values_the_statement_carries_itself_are_sent(session, person):
    rows = TAGGED.run(session.connection(), {"person_id": person.id}).all()
    assert sorted(tuple(row) for row in rows) == [("p", "tom.lehrer"), ("q", "Tom")]


def test_driver_errors_are_raised_as_sqlalchemy_errors(session, person):
    values = _login_values(person.id)
    INSERT_LOGIN.run(session.connection(), values)
    with pytest.raises(IntegrityError):
        INSERT_LOGIN.run(session.connection(), values)
    session.rollback()


def test_a_missing_value_is_named(session):
    with pytest.raises(KeyError, match="person_id"):
        READ.run(session.connection(), {})


@pytest.mark.parametrize(
    ("statement", "why"),
    [
        (select(PERSON.c.id).where(PERSON.c.id.in_(bindparam("ids", expanding=True))), "expanding"),
        (update(PERSON).values(username=bindparam("name")), "defaults computed in Python"),
    ],
    ids=["expanding-in", "onupdate-default"],
)
def test_statements_that_would_run_differently_are_refused(session, statement, why):
    with pytest.raises(ValueError, match=why):
        Prepared(statement).run(session.connection(), {"ids": [], "name": "x"})


def test_with_echo_on_the_statements_are_logged_like_sqlalchemys(session, person, caplog):
    engine = session.get_bind()
    engine.echo = True
    try:
        with caplog.at_level("INFO", logger="sqlalchemy.engine.Engine"):
            READ.run(session.connection(), {"person_id": person.id})
    finally:
        engine.echo = False
    assert any("[prepared]" in record.getMessage() for record in caplog.records)
