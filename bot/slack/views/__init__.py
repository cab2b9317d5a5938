"""Pure Block Kit renderers: read models in, `slack_sdk.models` objects out as dicts. No I/O."""
