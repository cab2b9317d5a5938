"""Sources: each produces a full snapshot of the entities it knows (see `base.Source`)."""
