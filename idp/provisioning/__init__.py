"""Provisioning: from people and policy to the accounts each service should hold, through a
transactional outbox and a worker, with reconciliation."""
