"""Back-channel logout reaches a client that was down: queued, retried, then delivered."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import time_machine
from sqlalchemy import select, update

from idp.models import LogoutDelivery, OAuthClient
from idp.oidc.logout import deliver_due
from tests import oidc_rp as rp
from tests.web import browser, data


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[bytes] = []  # noqa: RUF012 (shared by the handler instances of one test)

    def do_POST(self) -> None:
        self.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def receiver(port: int) -> Iterator[list[bytes]]:
    Receiver.received = []
    server = http.server.HTTPServer(("127.0.0.1", port), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver.received
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_client_that_was_down_gets_its_logout_token_later(site, database_url, run_idp):
    rp.school(site, teacher=False)
    client = rp.register(site, "stundenplan")
    port = free_port()  # nothing listens here yet: the client is "down"
    with data(site) as s:
        s.execute(
            update(OAuthClient)
            .where(OAuthClient.client_id == client.client_id)
            .values(backchannel_logout_uri=f"http://127.0.0.1:{port}/logout")
        )
        s.commit()
    b = browser(site)
    request = rp.authorization(client)
    tokens = rp.exchange(request, rp.sign_in(b, request, "lea.lern"))

    b.get(f"/oidc/logout?id_token_hint={tokens.raw['id_token']}")

    with data(site) as s:
        delivery = s.scalars(select(LogoutDelivery)).one()
        assert delivery.delivered_at is None and delivery.attempts == 1
        assert "ConnectionError" in (delivery.last_error or "")
        due = delivery.not_before
    with receiver(port) as received:
        early = run_idp("oidc", "deliver-logouts", "--json", env={"IDP_DATABASE_URL": database_url})
        assert '"delivered": 0' in early.stdout  # the next try is not due yet
        with time_machine.travel(due + dt.timedelta(seconds=1)), data(site) as s:
            delivered, failed = deliver_due(s)
        assert (delivered, failed) == (1, 0)
        assert len(received) == 1 and received[0].startswith(b"logout_token=")
    with data(site) as s:
        assert s.scalars(select(LogoutDelivery)).one().delivered_at is not None
