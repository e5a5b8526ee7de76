"""A listing's calendar (blocks, price overrides), its live availability, and quotes (SPEC §5).

`service.py` is the one place a stay is checked and priced from the database's facts
(`priced_stay`, `taken_nights`); the arithmetic is `stayflow/rules/pricing.py`."""
