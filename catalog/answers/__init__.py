"""Answers: asking a question, the transport-independent answer models and how they are built."""
