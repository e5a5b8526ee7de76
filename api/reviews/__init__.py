"""Guest and host reviews of a stay (SPEC §7)."""
