"""Admins' view of the disputes (chargebacks) on bookings' charges."""
