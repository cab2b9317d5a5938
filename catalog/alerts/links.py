"""Pasted alert links -> the entity they are about, from the URL alone (`alerts.links` patterns).

A PagerDuty service id is looked up like an alert's; an incident id finds the alert Wayfinder
received for it; a name (a dashboard slug, a project, a label value) goes through the same
resolution as questions, and only an exact-enough match counts: an unfurl must not guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlmodel import Session

from catalog.alerts.lookup import ALERTABLE_KINDS, by_pagerduty_service
from catalog.alerts.models import AlertIncident
from catalog.config import AlertLinkPattern
from catalog.search.resolve import CatalogIndex


def entity_for_url(session: Session, index: CatalogIndex, url: str, patterns: Iterable[AlertLinkPattern]) -> str | None:
    for pattern in patterns:
        found = re.match(pattern.pattern, url.strip())
        if found is None:
            continue
        groups = {k: v for k, v in found.groupdict().items() if v}
        if service_id := groups.get("service_id"):
            ref = by_pagerduty_service(session, service_id)
        elif incident := groups.get("incident"):
            row = session.get(AlertIncident, f"pagerduty:{incident}")
            ref = row.entity_ref if row else None
        else:
            resolution = index.resolve(groups.get("name", "").replace("_", "-"), kinds=ALERTABLE_KINDS, limit=1)
            best = resolution.best
            ref = best.ref if best is not None and resolution.matches[0].how in ("exact", "title", "alias") else None
        if ref:
            return ref
    return None
