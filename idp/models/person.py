"""Person: one human, one account, whatever number of roles and schools."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Date, String, text
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from idp.clock import now
from idp.extensions import db
from idp.ids import new_id
from idp.models.organisation import str_enum
from idp.models.types import JSONType, UTCDateTime
from idp.naming.sorting import sort_key

if TYPE_CHECKING:
    from idp.models.rolle import Personenkontext


def _sortname(context: DefaultExecutionContext) -> str:
    params = context.get_current_parameters()
    return sort_key(params["familienname"], params["vorname"])


class PersonStatus(enum.StrEnum):
    AKTIV = "aktiv"
    GESPERRT = "gesperrt"
    AUSGESCHIEDEN = "ausgeschieden"


class Person(db.Model):
    """Identity data only; sensitive export fields (Förderbedarf, LRS, ...) never land here."""

    __tablename__ = "person"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    vorname: Mapped[str] = mapped_column(String(255))
    familienname: Mapped[str] = mapped_column(String(255))
    # DIN 91379 search form of "Familienname, Vorname": German order (Ö with OE) and search.
    sortname: Mapped[str] = mapped_column(String(520), index=True, default=_sortname)
    geburtsdatum: Mapped[dt.date | None] = mapped_column(Date)
    # Stored lowercase: usernames are case-insensitive.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    mail: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Earlier addresses that still deliver to this mailbox (after a name change the address
    # follows the new name, policies/naming.toml [mail] old_address_as_alias).
    mail_aliases: Mapped[list[str]] = mapped_column(
        JSONType, default=list, server_default=text("'[]'")
    )
    status: Mapped[PersonStatus] = mapped_column(
        str_enum(PersonStatus, "person_status"), default=PersonStatus.AKTIV
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the password was last set: an initial password expires some days after this.
    password_set_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    auskunftssperre: Mapped[bool] = mapped_column(Boolean, default=False)
    ausgeschieden_am: Mapped[dt.date | None] = mapped_column(Date)
    loeschdatum: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    kontexte: Mapped[list[Personenkontext]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )

    @validates("vorname", "familienname")
    def _keep_sortname(self, key: str, value: str) -> str:
        names = {"vorname": self.vorname, "familienname": self.familienname, key: value}
        if names["vorname"] is not None and names["familienname"] is not None:
            self.sortname = sort_key(names["familienname"], names["vorname"])
        return value

    @property
    def display_name(self) -> str:
        return f"{self.vorname} {self.familienname}"

    def __repr__(self) -> str:
        return f"<Person {self.username}>"
