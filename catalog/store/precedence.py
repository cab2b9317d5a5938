"""Which source wins when several describe the same entity: the one table of precedences.

Several sources may assert the same ref (a descriptor in the repo, the repo itself, the
PagerDuty service, the Slack user group). Each asserts its own row; reads merge the rows
per field (`catalog.store.merge.merge`): the highest-precedence row that has a value for a field
wins that field, and `CatalogEntity.field_sources` records which source it was. Something a
person wrote down beats something a machine inferred, and a source that only adds facts about
an entity (PagerDuty, Slack) ranks below every source that defines the entity, so it can fill
gaps but never overrule them.
"""

from __future__ import annotations

DESCRIPTOR = 100  # Backstage descriptors (catalog-info.yaml), written by people
GITHUB_INFERRED = 50  # a Component inferred from a repository without a descriptor
PAGERDUTY = 30  # on-call facts, the service id and link, for entities that already exist
SLACK = 20  # Slack user group and user ids, for Groups and Users that already exist
