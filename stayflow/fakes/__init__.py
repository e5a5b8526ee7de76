"""Local stand-ins for the outside world that speak its wire format, so the real SDKs run
against them: `make dev` without provider keys, and the test suite."""
