"""The notification feed and preferences, and the notifications the API itself starts."""
