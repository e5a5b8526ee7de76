"""The marketplace's business rules as pure functions: no I/O, no clock (today is an argument).

One implementation of each rule, called by the API, the workflows and the tests alike:
pricing a stay (`pricing`), what a listing must have before review (`listing_checks`),
which status may follow which (`listing_status`), the amenity catalogue (`amenities`).
"""
