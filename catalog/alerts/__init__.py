"""Incident ownership: alert webhooks stored first, then turned into one ownership card per incident."""
