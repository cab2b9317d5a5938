"""Pasted alert links -> the entity they are about (`alerts.links` patterns), from the URL and the vendor.

A PagerDuty service id is looked up like an alert's; an incident id finds the alert Wayfinder
received for it; a name (a dashboard slug, a project, a label value) goes through the same
resolution as questions, and only an exact-enough match counts: an unfurl must not guess. A
vendor's object (a PagerDuty incident or service the catalog does not know, a Grafana dashboard or
alert rule, a Sentry issue, a Datadog monitor) is looked up on the vendor's API when its token is
configured (`alerts.vendors`): its service ids, then its labels in `alerts.labels` order, then its
other names. When that lookup fails the URL alone decides, and the result says what could not be
looked up, so the card does not pass a guess from the URL for the vendor's word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import Session

from catalog.alerts.lookup import ALERTABLE_KINDS, by_pagerduty_service
from catalog.alerts.models import AlertIncident
from catalog.alerts.vendors import Looked, Lookups
from catalog.config import AlertLinkPattern
from catalog.search.resolve import CatalogIndex

# Groups a vendor is asked about, in this order; PagerDuty's only when the catalog does not know them.
LOOKED_UP = ("service_id", "incident", "grafana_dashboard", "grafana_rule", "sentry_issue", "datadog_monitor")


@dataclass(frozen=True)
class Placed:
    ref: str
    unchecked: str | None = None  # a vendor lookup that failed, so the URL alone placed it: "the Grafana dashboard lookup timed out"


def entity_for_url(
    session: Session,
    index: CatalogIndex,
    url: str,
    patterns: Iterable[AlertLinkPattern],
    lookups: Mapping[str, Lookups] | None = None,
    labels: Sequence[str] = (),
) -> Placed | None:
    """The entity `url` is about; `lookups` (link group -> vendor API) fill in what the URL leaves out."""
    for pattern in patterns:
        found = re.match(pattern.pattern, url.strip())
        if found is None:
            continue
        groups = {k: v for k, v in found.groupdict().items() if v}
        if placed := _place(session, index, groups, lookups or {}, labels):
            return placed
    return None


def _place(session: Session, index: CatalogIndex, groups: dict[str, str], lookups: Mapping[str, Lookups], labels: Sequence[str]) -> Placed | None:
    if (service_id := groups.get("service_id")) and (ref := by_pagerduty_service(session, service_id)):
        return Placed(ref)
    if (incident := groups.get("incident")) and (row := session.get(AlertIncident, f"pagerduty:{incident}")) and row.entity_ref:
        return Placed(row.entity_ref)
    unchecked = None
    for group in LOOKED_UP:
        vendor = lookups.get(group)
        if vendor is None or not (object_id := groups.get(group)):
            continue
        looked = vendor.look_up(group, object_id)
        if looked.problem is not None:
            unchecked = f"the {vendor.vendor} {vendor.kinds[group]} lookup {looked.problem}"
        elif ref := _from_vendor(session, index, looked, labels):
            return Placed(ref)
    ref = _by_name(index, groups.get("name"))
    return Placed(ref, unchecked) if ref else None


def _from_vendor(session: Session, index: CatalogIndex, looked: Looked, labels: Sequence[str]) -> str | None:
    """The vendor's service ids first, then its labels in the configured order, then its other names."""
    for service_id in looked.service_ids:
        if ref := by_pagerduty_service(session, service_id):
            return ref
    names = [looked.labels[label] for label in labels if label in looked.labels]
    return next((ref for name in (*names, *looked.names) if (ref := _by_name(index, name))), None)


def _by_name(index: CatalogIndex, name: str | None) -> str | None:
    """Only an exact-enough match counts: an unfurl must not guess."""
    if not name:
        return None
    resolution = index.resolve(name.replace("_", "-"), kinds=ALERTABLE_KINDS, limit=1)
    best = resolution.best
    return best.ref if best is not None and resolution.matches[0].how in ("exact", "title", "alias") else None
