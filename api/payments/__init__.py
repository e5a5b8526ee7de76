"""Money as the guest sees it (the ledger) and as Stripe tells it (webhooks)."""
