"""SAML 2.0 identity provider (pysaml2, signing with Debian's xmlsec1)."""
