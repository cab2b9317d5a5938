"""HTTP: the FastAPI app serving Slack's endpoint, webhooks and health."""
