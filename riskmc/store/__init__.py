"""What riskmc keeps: all-or-nothing folders and their manifests, run files, the ledger."""
