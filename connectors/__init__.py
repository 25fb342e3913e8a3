"""Provisioning targets: each connector keeps one service's accounts (and groups) in step with
what the policy says that service should hold (idp.provisioning)."""
