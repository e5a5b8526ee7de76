"""Every side effect of a process, grouped by what it touches; each activity is idempotent."""
