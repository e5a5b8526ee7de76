"""Admin-only resources: platform settings, metrics, the audit log."""
