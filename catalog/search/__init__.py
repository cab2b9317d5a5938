"""Search: understanding a question, resolving a name to entities, spotting names in text."""
