"""What the web pages show: an entity's ownership page, a team page, short links and entity listings.

Read models built from the store and the answers, rendered as HTML or JSON by `bot/http/web`.
"""
