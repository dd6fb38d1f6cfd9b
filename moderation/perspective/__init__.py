"""The Perspective-compatible endpoint's logic: requests, attributes, batching, suggested scores."""
