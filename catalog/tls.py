"""One verifying TLS context per process, shared by every outbound httpx client.

httpx builds a new `ssl.SSLContext` for each client and loads certifi's CA bundle into it: about
60 ms of CPU per client, paid by every `ActionService` (each server, replica and CLI run) and every
source client, whether or not it ever speaks HTTPS. A context is safe to share between clients and
threads, and this one is built the way httpx builds its own (honouring SSL_CERT_FILE and SSL_CERT_DIR).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI's fast path loads no TLS until a client needs it
    import ssl


@functools.cache
def tls_context() -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context()
