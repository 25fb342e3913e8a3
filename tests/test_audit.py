"""The audit trail is hash-chained: `idp audit verify` finds a changed or deleted row."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from idp import audit
from idp.models import AuditEvent


def fill(session, n=5):
    school = uuid.uuid4()
    audit.append_many(
        session,
        [
            audit.Event(
                actor="admin",
                action="person.gesperrt",
                target=f"person:{i}",
                organisation_id=school,
                details={"grund": "Schulwechsel", "nr": i},
            )
            for i in range(n)
        ],
    )
    audit.record(session, audit.Event(actor="system", action="import.run"))
    session.commit()


def test_intact_chain_verifies(session):
    fill(session)
    result = audit.verify(session)
    assert result.ok and result.checked == 6 and result.problems == ()
    ids = [e.id for e in session.query(AuditEvent).order_by(AuditEvent.id)]
    assert ids == [1, 2, 3, 4, 5, 6]


def test_changed_row_is_found(session):
    fill(session)
    session.execute(text("UPDATE audit_event SET actor = 'jemand' WHERE id = 3"))
    session.commit()
    result = audit.verify(session)
    assert not result.ok
    assert "event 3: content changed" in result.problems


def test_changed_details_are_found(session):
    fill(session)
    session.execute(text('UPDATE audit_event SET details = \'{"grund":"anders"}\' WHERE id = 2'))
    session.commit()
    assert "event 2: content changed" in audit.verify(session).problems


def test_deleted_row_in_the_middle_is_found(session):
    fill(session)
    session.execute(text("DELETE FROM audit_event WHERE id = 4"))
    session.commit()
    problems = audit.verify(session).problems
    assert "event 4..4: missing (deleted)" in problems
    assert "event 5: does not follow the event before it" in problems


def test_deleted_newest_row_is_found(session):
    fill(session)
    session.execute(text("DELETE FROM audit_event WHERE id = 6"))
    session.commit()
    result = audit.verify(session)
    assert not result.ok
    assert any("newest events missing" in p for p in result.problems)


def test_rehashed_forgery_still_breaks_the_chain(session):
    """Recomputing a changed row's own hash does not help: the next row links to the old one."""
    fill(session)
    row = session.get(AuditEvent, 2)
    row.actor = "faelscher"
    row.hash = audit.row_hash(row)
    session.commit()
    assert "event 3: does not follow the event before it" in audit.verify(session).problems


def test_cli_verify_exit_codes(session, database_url, run_idp):
    fill(session)
    ok = run_idp("audit", "verify", "--json", env={"IDP_DATABASE_URL": database_url})
    assert ok.returncode == 0, ok.stderr
    assert '"ok": true' in ok.stdout and '"checked": 6' in ok.stdout
    session.execute(text("DELETE FROM audit_event WHERE id = 2"))
    session.commit()
    bad = run_idp("audit", "verify", env={"IDP_DATABASE_URL": database_url})
    assert bad.returncode == 1
    assert "VERÄNDERT" in bad.stdout and "event 2..2: missing (deleted)" in bad.stdout
