"""What an approved request runs: a signed webhook, a GitHub workflow, a catalog entity, or a registered callable."""
