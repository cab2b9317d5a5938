"""Pasted alert links -> the entity they are about, from the URL alone (`alerts.links` patterns).

A PagerDuty service id is looked up like an alert's; an incident id finds the alert Wayfinder
received for it; a name (a dashboard slug, a project, a label value) goes through the same
resolution as questions, and only an exact-enough match counts: an unfurl must not guess. When a
PagerDuty source is configured, an incident Wayfinder never received and a service id no entity
carries are looked up on PagerDuty's API (`alerts.vendors`) for the service and its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlmodel import Session

from catalog.alerts.lookup import ALERTABLE_KINDS, by_pagerduty_service
from catalog.alerts.models import AlertIncident
from catalog.alerts.vendors import PagerDutyLookups
from catalog.config import AlertLinkPattern
from catalog.search.resolve import CatalogIndex


def entity_for_url(
    session: Session, index: CatalogIndex, url: str, patterns: Iterable[AlertLinkPattern], pagerduty: PagerDutyLookups | None = None
) -> str | None:
    """The entity `url` is about; with `pagerduty`, PagerDuty's API fills in what the URL leaves out."""
    for pattern in patterns:
        found = re.match(pattern.pattern, url.strip())
        if found is None:
            continue
        groups = {k: v for k, v in found.groupdict().items() if v}
        if service_id := groups.get("service_id"):
            ref = by_pagerduty_service(session, service_id) or _by_name(index, pagerduty.service_name(service_id) if pagerduty else None)
        elif incident := groups.get("incident"):
            row = session.get(AlertIncident, f"pagerduty:{incident}")
            ref = row.entity_ref if row else _by_vendor_incident(session, index, incident, pagerduty)
        else:
            ref = _by_name(index, groups.get("name", ""))
        if ref:
            return ref
    return None


def _by_name(index: CatalogIndex, name: str | None) -> str | None:
    """Only an exact-enough match counts: an unfurl must not guess."""
    if not name:
        return None
    resolution = index.resolve(name.replace("_", "-"), kinds=ALERTABLE_KINDS, limit=1)
    best = resolution.best
    return best.ref if best is not None and resolution.matches[0].how in ("exact", "title", "alias") else None


def _by_vendor_incident(session: Session, index: CatalogIndex, incident: str, pagerduty: PagerDutyLookups | None) -> str | None:
    """An incident Wayfinder never received: PagerDuty says which service it is on."""
    service = pagerduty.incident_service(incident) if pagerduty else None
    if service is None:
        return None
    return by_pagerduty_service(session, service.id) or _by_name(index, service.name)
