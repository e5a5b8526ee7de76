"""Bookings (SPEC §6): `controllers.py` (HTTP: parse, authorize, call one service function),
`schemas.py` (what the endpoints take and answer), `service.py` (create, decide, cancel),
`changes.py` (changing a booking's dates or guests), `reads.py` (how a booking reads, who sees it)."""
