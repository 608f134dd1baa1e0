"""Notifications: an in-app inbox for every person and a signed outgoing webhook per domain."""
