"""The decisions feed (an outbox of events) and the signed webhooks that carry it out."""
