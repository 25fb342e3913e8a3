"""SAML 2.0 identity provider (pysaml2, signing with Debian's xmlsec1)."""

import warnings

# pysaml2 7.5 names a cipher mode at import time that `cryptography` has moved; harmless, and
# it would print on every command.
warnings.filterwarnings("ignore", message="CFB has been moved")
