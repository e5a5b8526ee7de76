"""Host-guest messaging: controllers, schemas, the service that stores messages, and live delivery."""
