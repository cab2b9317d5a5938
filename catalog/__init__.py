"""The software catalog: models, store, sources, sync, search and questions.

Nothing in this package imports Slack; transports live in `bot/`.
"""
