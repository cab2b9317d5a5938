"""Which answer statuses count as answered: one rule for the `Answer` model and for clients that
only see its JSON (the remote CLI), without importing the models."""

ANSWERED_STATUSES = frozenset({"answered", "help", "no_data"})
