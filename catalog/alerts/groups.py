"""An alert group split by entity: each owner learns about its own alerts, in its own card.

Alertmanager and Grafana send a whole notification group in one webhook, and one group can hold
alerts for services of different owners (a generic `groupKey` such as Grafana's `{}:{}` groups
everything). Each alert is placed on its entity and the group becomes one `Part` per entity, with
the alerts placed nowhere as one more part for the default channel; a group whose alerts all name
one entity stays one part, one card. Providers that send one alert per webhook are one part.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from catalog.alerts.lookup import Found
from catalog.alerts.payloads import AlertEvent, GroupAlert


@dataclass(frozen=True)
class Part:
    event: AlertEvent  # the event as this entity's card sees it: only its alerts, their names, status and title
    found: Found | None  # None: the alerts name nothing the catalog knows
    by_entity: bool  # a group's part: its incident is the group's on this entity, not the group's whatever it names

    @property
    def listed(self) -> str | None:
        """A digest of the alerts the card lists (in any order), None for one-alert providers: a change redraws the card."""
        if not self.by_entity:
            return None
        shown = sorted((a.status, a.summary) for a in self.event.alerts)
        return hashlib.sha256(json.dumps(shown).encode()).hexdigest()


def split(event: AlertEvent, place: Callable[[AlertEvent], Found | None]) -> list[Part]:
    """The event's parts, one per entity its alerts name, in the order of each entity's first alert.

    `place` finds an event's entity; alerts carrying the same names are placed once (a group of 300 pods is a few lookups).
    """
    if not event.alerts:
        return [Part(event, place(event), by_entity=False)]
    placed: dict[tuple[str, ...], Found | None] = {}
    parts: dict[str | None, tuple[Found | None, list[GroupAlert]]] = {}
    for alert in event.alerts:
        names = tuple(alert.names)
        if names not in placed:
            placed[names] = place(event.model_copy(update={"names": alert.names}))
        found = placed[names]
        parts.setdefault(found.ref if found else None, (found, []))[1].append(alert)
    return [Part(_narrowed(event, alerts), found, by_entity=True) for found, alerts in parts.values()]


def _narrowed(event: AlertEvent, alerts: list[GroupAlert]) -> AlertEvent:
    """The group as one entity's card shows it: firing while any of its alerts fires; title, severity and link of its first."""
    first = alerts[0]
    status = "triggered" if any(a.status == "triggered" for a in alerts) else "resolved"
    names = list(dict.fromkeys(name for alert in alerts for name in alert.names))
    update = {"status": status, "title": first.title, "severity": first.severity, "url": first.url, "names": names, "alerts": alerts}
    return event.model_copy(update=update)
