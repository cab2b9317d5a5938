"""The software catalog and everything that answers from it, independent of any transport.

- `catalog.store`: the tables, the engine and sessions, migrations, read queries, merging a
  ref's rows from several sources, leases and claim-once keys.
- `catalog.sync.engine`: the sync engine, the sources (`catalog.sync.engine.sources`), schedules and their
  triggers, sync status, webhooks and validation of config and catalog files.
- `catalog.search.resolve`: understanding a question, resolving names, spotting names in text.
- `catalog.answers.models`: asking, the answer models, cards, on-call, freshness, text rendering.
- `catalog.core`: the `Catalog` facade, the one door adapters use; `config` and `errors` beside it.

Nothing in this package imports Slack's Bolt, FastAPI, typer or rich; transports live in `bot/`.
See ARCHITECTURE.md.
"""
