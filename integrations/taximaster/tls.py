"""The TLS settings for one TMWeb server, built in one place.

TMWeb listens on the dispatch service's own ``https://ip:port``, often with a self-signed
certificate and old TLS settings. Three switches, each with its risk:

* ``verify_tls=False`` — accept any certificate: anyone on the path can read and change the
  traffic (the secret itself never travels, but orders, phones and addresses do).
* ``ca_file`` — trust exactly this CA (or self-signed certificate) file instead of the public
  ones: the safe way to reach a self-signed TMWeb.
* ``legacy_tls`` — allow TLS 1.0/1.1, weak ciphers and keys (OpenSSL ``SECLEVEL=0``) and
  legacy renegotiation, as public TMWeb clients do to reach old servers: weaker encryption,
  use only when the server cannot be upgraded.
"""

from __future__ import annotations

import functools
import ssl
from pathlib import Path

import certifi

# Python 3.12 names it; the OpenSSL value is the same everywhere.
_OP_LEGACY_SERVER_CONNECT = getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)
LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"


def build_ssl_context(
    *, verify_tls: bool = True, ca_file: str | Path | None = None, legacy_tls: bool = False
) -> ssl.SSLContext:
    """An ``SSLContext`` for the three switches (see the module docstring)."""
    if ca_file is not None and not verify_tls:
        raise ValueError("ca_file needs verify_tls: a CA file is pointless without verification")
    return _build(verify_tls, str(Path(ca_file).expanduser()) if ca_file else None, legacy_tls)


@functools.cache
def _build(verify_tls: bool, ca_file: str | None, legacy_tls: bool) -> ssl.SSLContext:
    # Built once per combination: loading a CA bundle costs tens of milliseconds.
    context = ssl.create_default_context(cafile=ca_file or certifi.where())
    if not verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if legacy_tls:
        context.set_ciphers(LEGACY_CIPHERS)
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.options |= _OP_LEGACY_SERVER_CONNECT
    return context
