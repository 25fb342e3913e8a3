"""All models, imported here so that metadata (and Alembic) sees every table."""

from idp.models.activation_step import ServiceActivationStep
from idp.models.audit import AuditEvent, AuditHead
from idp.models.beziehung import Beziehung
from idp.models.import_run import ImportRun, MatchCandidate
from idp.models.login import LoginSession, LoginThrottle, RecoveryCode, TotpCredential
from idp.models.oauth import (
    AuthorizationCode,
    ClientSession,
    LogoutDelivery,
    OAuthClient,
    RefreshToken,
    RevokedToken,
)
from idp.models.organisation import Organisation, OrganisationTyp
from idp.models.outbox import OutboxEvent
from idp.models.person import Person, PersonStatus
from idp.models.provisioning import ProvisionedAccount, ProvisionedGroup
from idp.models.rolle import Personenkontext, Rolle
from idp.models.saml import SamlHold, SamlServiceProvider, SamlSession
from idp.models.service import ActivationState, OptOut, Service, ServiceActivation
from idp.models.signing_key import SigningKey
from idp.models.source_record import SourceRecord

__all__ = [
    "ActivationState",
    "AuditEvent",
    "AuditHead",
    "AuthorizationCode",
    "Beziehung",
    "ClientSession",
    "ImportRun",
    "LoginSession",
    "LoginThrottle",
    "LogoutDelivery",
    "MatchCandidate",
    "OAuthClient",
    "OptOut",
    "Organisation",
    "OrganisationTyp",
    "OutboxEvent",
    "Person",
    "PersonStatus",
    "Personenkontext",
    "ProvisionedAccount",
    "ProvisionedGroup",
    "RecoveryCode",
    "RefreshToken",
    "RevokedToken",
    "Rolle",
    "SamlHold",
    "SamlServiceProvider",
    "SamlSession",
    "Service",
    "ServiceActivation",
    "ServiceActivationStep",
    "SigningKey",
    "SourceRecord",
    "TotpCredential",
]
