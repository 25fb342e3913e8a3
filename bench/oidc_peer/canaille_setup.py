"""Run in Canaille's venv by bench/oidc.py: the bench's client and persons bench0..bench{N-1}.

    canaille_setup.py USERS CLIENT_ID CLIENT_SECRET REDIRECT_URI PASSWORD

All persons get the same password and hence one stored hash (made by Canaille's own password
column, at the configured scheme): every login still computes the hash check.
Canaille's access tokens are JWTs without a jti, so two for the same person, client and scope
in the same second are equal and collide in the database; each refresh chain has its own
person for that reason.
"""

import datetime
import sys

from canaille import create_app
from canaille.app import models
from canaille.backends import Backend
from sqlalchemy import text

users, client_id, client_secret, redirect_uri, password = sys.argv[1:]
now = datetime.datetime.now(datetime.UTC)
app = create_app()
with app.app_context(), Backend.instance.session():
    client = models.Client(
        client_id=client_id,
        client_secret=client_secret,
        client_id_issued_at=now,
        client_name="bench",
        client_uri=redirect_uri.rsplit("/", 1)[0],  # 127.0.0.1 is a trusted domain: no consent page
        redirect_uris=[redirect_uri],
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
        response_types=["code"],
        scope=["openid", "profile", "email", "offline_access"],
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 (a method name)
        id_token_signed_response_alg="ES256",  # noqa: S106 (signed as ours are)
    )
    Backend.instance.save(client)
    client.audience = [client]
    Backend.instance.save(client)
    session = Backend.instance.db_session
    for number in range(int(users)):
        session.add(
            models.User(
                user_name=f"bench{number}",
                family_name="Bench",
                given_name=f"U{number}",
                formatted_name=f"Bench U{number}",
                emails=[f"bench{number}@example.org"],
                password=password if number == 0 else None,
                created=now,  # what Backend.save() would set; the claims need them
                last_modified=now,
            )
        )
    session.commit()
    session.execute(
        text('UPDATE "user" SET password = (SELECT password FROM "user" WHERE user_name = :first)'),
        {"first": "bench0"},
    )
    session.commit()
print(f"canaille: client {client_id}, {users} persons")
