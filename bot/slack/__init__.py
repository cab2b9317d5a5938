"""Slack: the Bolt app, its listeners, Block Kit views and Slack identities."""
