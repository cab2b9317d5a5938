"""Ownership page URLs (`GET /o/{kind}/{namespace}/{name}` in DESIGN.md): built for cards, parsed for unfurls."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from catalog.store.refs import make_ref, split_ref


def ownership_url(public_url: str, ref: str) -> str:
    kind, namespace, name = split_ref(ref)
    return f"{public_url.rstrip('/')}/o/{quote(kind, safe='')}/{quote(namespace, safe='')}/{quote(name, safe='')}"


def parse_ownership_url(url: str, public_url: str) -> str | None:
    """The entity behind a link to this server's ownership page: a ref, or a bare name for `/o/{name}`.

    Scheme is not compared (proxies and people swap http and https); host, port and base path are.
    """
    link, base = urlsplit(url.strip()), urlsplit(public_url)
    prefix = base.path.rstrip("/") + "/o/"
    if link.scheme.lower() not in ("http", "https") or link.netloc.lower() != base.netloc.lower() or not link.path.startswith(prefix):
        return None
    parts = [unquote(p) for p in link.path[len(prefix) :].strip("/").split("/")]
    if not all(parts):
        return None
    if len(parts) == 3:
        return make_ref(*parts)
    return parts[0].lower() if len(parts) == 1 else None
