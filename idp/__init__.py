"""schul-idp: identity and single sign-on for the schools of a German state."""

from idp.app import create_app

__all__ = ["create_app"]
