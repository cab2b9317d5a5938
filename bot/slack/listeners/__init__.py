"""Slack listeners, one module per surface, each with `register(app)`.

Handlers take `services` like any Bolt argument (a global middleware puts it in the context),
ack first when Slack waits for an ack, and leave errors to `bot.slack.errors.handle_error`.
"""
