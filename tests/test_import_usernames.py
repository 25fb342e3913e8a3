"""New persons' usernames in a repeat import: the planner looks up only the names it may hand
out (idp.imports.state.TakenUsernames), and must hand out what it would with every username
in use read, as before.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from idp.config import load_config
from idp.imports.state import TakenUsernames
from idp.naming import UsernameAllocator
from idp.policy.loader import load_policies
from tests.factories import person
from tests.importing import demo_export, edit_rows, idp_import


def test_taken_usernames_answers_as_the_set_of_every_username(session) -> None:
    for username in ("max.muster", "max.muster2", "max.muster4"):
        person(session, username, "Max", "Muster")
    taken = TakenUsernames(session)

    taken.ask(["max.muster", "max.muster3"])

    assert "max.muster" in taken
    assert "max.muster3" not in taken
    assert "max.muster4" in taken  # not asked before: looked up when tried
    taken.add("max.muster3")
    assert "max.muster3" in taken


def usernames(database_url: str) -> dict[str, str]:
    """external id -> username of every person of the SIP import."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.external_id, p.username FROM source_record s "
                    "JOIN person p ON p.id = s.object_id WHERE s.source = 'sip'"
                )
            )
            return dict(rows.all())
    finally:
        engine.dispose()


def test_newcomers_named_like_learners_get_the_first_free_names(
    tmp_path: Path, database_url: str, run_idp
) -> None:
    export = demo_export(tmp_path / "export")
    for source in ("sip", "personal"):
        code, _data, err = idp_import(
            run_idp, database_url, "run", "--source", source, str(export / source)
        )
        assert code == 0, err
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            in_use = set(conn.execute(text("SELECT username FROM person")).scalars())
    finally:
        engine.dispose()
    template: dict[str, str] = {}

    def add_namesakes(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        template.update(rows[0])
        newcomers = [
            {
                **rows[0],
                "Schüler-ID": f"9900000{k}",
                "Schülernummer": f"99000{k}",
                "Geburtsdatum": f"0{k + 1}.01.2016",
            }
            for k in range(3)
        ]
        return [*rows, *newcomers]

    edit_rows(export / "sip" / "schueler.csv", add_namesakes)

    code, data, err = idp_import(
        run_idp, database_url, "run", "--source", "sip", str(export / "sip")
    )

    assert code == 0, err
    assert data["summary"]["persons_create"] == 3
    # What an allocator over every username in use hands out (the planner's former way).
    policy = load_policies(load_config(None).policies_dir).naming
    allocator = UsernameAllocator(in_use, policy)
    expected = [
        allocator.allocate(template["Vorname"], template["Nachname"], "LERN") for _ in range(3)
    ]
    found = usernames(database_url)
    assert [found[f"schueler:9900000{k}"] for k in range(3)] == expected
    assert len(set(found.values())) == len(found)
