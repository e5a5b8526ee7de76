"""The payloads of the processes: plain dataclasses, one per call (workflow input, update,
signal, activity argument or result), so fields can be added later with defaults without
breaking running workflows. One module per process.

They live apart from the workflow and activity modules and are imported passed through the
sandbox, so Temporal's sandbox does not rebuild them (dataclasses generate code with `exec`)
for every new workflow run (bench/booking.py measured that rebuild as a large part of the
worker's CPU), and so the API can build them without loading any activity or provider SDK.
"""
