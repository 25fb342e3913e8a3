"""Synthetic SIP-Schule and personnel exports of a whole state, for imports, tests and demos."""

from idp.demodata.generator import generate

__all__ = ["generate"]
