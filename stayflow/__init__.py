"""What the layers share: settings, the command line, the local dev stack, credentials,
the Temporal connection and the provider clients (email today; SMS and payments next)."""
