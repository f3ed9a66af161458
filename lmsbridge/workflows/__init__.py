"""Workflows: the agreement's acts carried out against the platforms and the ledger."""
