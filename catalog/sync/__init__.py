"""Syncing sources into the store: the engine, the sources, schedules, status and webhooks."""
