"""Toxicity scorers: detoxify (the real model) and an offline fallback.

Nothing here imports torch at module level: Celery's prefork parent must never
touch torch, so the model is built lazily in each worker child (registry).
"""
