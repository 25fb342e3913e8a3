"""The connectors the configuration names, each tied to its service."""

from __future__ import annotations

from connectors.base import Connector
from connectors.settings import ConnectorConfigError
from idp.policy.loader import Policies


def configured(config, policies: Policies) -> dict[str, Connector]:
    """service code -> connector, for every target the config sets up."""
    found: dict[str, Connector] = {}
    sections = config["connectors"]
    if sections["ldap_mail"]["url"]:
        from connectors import ldap_mail

        found[sections["ldap_mail"]["service"]] = ldap_mail.from_config(config)
    if sections["itslearning"]["url"] or sections["itslearning"]["export_dir"]:
        from connectors import itslearning

        found[sections["itslearning"]["service"]] = itslearning.from_config(config)
    for code in sections["scim"]:
        from connectors import scim

        found[code] = scim.from_config(config, code)
    for code, connector in found.items():
        service = policies.services.get(code)
        if service is None:
            raise ConnectorConfigError(f"[connectors.{connector.name}] service {code!r}: unknown")
        if service.connector != connector.name:
            raise ConnectorConfigError(
                f"[connectors.{connector.name}] service {code!r}: policies/services.toml names "
                f"connector {service.connector!r} for it"
            )
    return found
