"""Toxicity scorers: detoxify, the embedded model (tox-block in PyTorch) and a last-resort fallback.

Nothing here imports torch at module level: Celery's prefork parent must never
touch torch, so the model is built lazily in each worker child (registry).
"""
