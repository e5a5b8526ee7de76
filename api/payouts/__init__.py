"""Hosts' payouts: Stripe Connect onboarding, the account's state, the payouts of their bookings."""
