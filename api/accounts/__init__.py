"""Accounts: registration, sign-in and sessions, profiles, and admins managing users."""
