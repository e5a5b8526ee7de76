"""Listings: controllers (hosts, guests, admins moderating), schemas, search, and the service with their rules."""
