"""`build_app`: the Bolt app, built by a factory so each process (and test) wires its own."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.compose import Services
from bot.slack.actions import SlackActionNotifier
from bot.slack.client import RATE_LIMIT_RETRIES
from bot.slack.errors import handle_error
from bot.slack.listeners import action_requests, actions, adoption, commands, events, scorecards, shortcuts, unknown, views

# Listeners run after the ack on this pool; a 429 makes one sleep for Retry-After, so keep spares.
LISTENER_THREADS = 16


def build_app(services: Services, *, client: WebClient, token_verification_enabled: bool = True) -> App:
    """The app for `client` (its `base_url` is SLACK_API_URL); `auth.test` runs now unless disabled.

    Bolt's request verification is off: HTTP requests are verified over their raw bytes before
    they reach Bolt (`bot.http.slack_endpoint`), and Socket Mode needs none.
    """
    app = App(  # its auth.test runs before the 429 handler joins: a Retry-After of minutes held `serve` unbound that long
        name="wayfinder",
        client=client,
        request_verification_enabled=False,
        token_verification_enabled=token_verification_enabled,
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="wayfinder-listener"),
    )
    if not any(isinstance(h, RateLimitErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    app.use(_provide(services))
    app.error(handle_error)
    for listeners in (events, commands, shortcuts, actions, views, action_requests, scorecards, adoption, unknown):  # `unknown` last
        listeners.register(app)
    services.actions.notifier = SlackActionNotifier(services, client)  # cards, threads and DMs for requests
    return app


def _provide(services: Services) -> Callable[..., BoltResponse | None]:
    """Puts `services` in the context, so listeners take it as an argument like `client`."""

    def provide_services(context: BoltContext, next: Callable[[], None]) -> None:
        context["services"] = services
        next()

    return provide_services
