"""Greetings, thanks and acknowledgements: a short friendly reply, never a catalog search.

"hi" is not a service and "thanks!" is not a person; answering them with "Nothing in the
catalog is called 'hi'" or "Did you mean user:yuki.tanaka?" makes the bot look broken.
"""

from __future__ import annotations

GREETINGS = {"hi", "hello", "hey", "heya", "hiya", "yo", "howdy", "morning", "afternoon", "evening", "greetings", "sup", "hola", "hallo"}
THANKS = {"thanks", "thank", "thx", "ty", "tyvm", "cheers", "ta", "appreciated", "appreciate", "kudos", "merci", "danke"}
ACKS = {
    "ok", "okay", "k", "kk", "cool", "great", "nice", "perfect", "awesome", "got", "gotcha", "understood", "noted", "sure", "alright",
    "fine", "yes", "yep", "no", "nope", "lol", "wow", "good", "brilliant", "excellent", "amazing", "helpful", "neat", "sweet",
}  # fmt: skip
FAREWELLS = {"bye", "goodbye", "later", "cya", "night"}
# Words that may come along without changing what was said ("thanks a lot, wayfinder!").
COMPANIONS = {
    "a", "lot", "so", "much", "very", "you", "u", "it", "that", "there", "all", "everyone", "folks", "team", "guys",
    "wayfinder", "bot", "good", "again", "for", "the", "help", "see", "thats", "that's", "is", "just", "oh", "ah", "i",
    "how", "are", "doing", "whats", "up", "friend", "buddy", "mate", "anyway", "many",
}  # fmt: skip

REPLIES = {
    "greeting": "Hi! I answer questions about the software catalog: who owns what, who is on call, how to reach a team.",
    "thanks": "You're welcome! Ask me anything else about the catalog.",
    "ack": "👍 Anything else? I can tell you who owns a service, who is on call or what depends on what.",
    "farewell": "Bye! Ask me any time.",
}


def small_talk(words: list[str]) -> str | None:
    """`greeting`, `thanks`, `ack` or `farewell` when `words` (lower case) say nothing but that."""
    if not words:
        return None
    found = {
        "thanks": any(w in THANKS for w in words),
        "greeting": any(w in GREETINGS for w in words),
        "farewell": any(w in FAREWELLS for w in words),
        "ack": any(w in ACKS for w in words),
    }
    if not any(found.values()):
        return None
    known = GREETINGS | THANKS | ACKS | FAREWELLS | COMPANIONS
    if not all(w in known for w in words):
        return None
    return next(kind for kind, yes in found.items() if yes)
