"""Slack listeners, one module per surface, each with `register(app)`.

Handlers take `services` like any Bolt argument (a global middleware puts it in the context),
ack first when Slack waits for an ack, and leave errors to `bot.slack.errors.handle_error`: every
listener that acks is registered `reported` (or `once_per_delivery`, which is), so an error after
its ack never costs the ack.
"""
