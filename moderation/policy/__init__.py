"""The moderation policy as its users see it: rules and watched words edited with an
audit trail, calibration from moderators' decisions, backtests, the policy pages."""
