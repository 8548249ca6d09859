"""The fault suite: real processes, stand-ins with faults, a real Redis (README "Reliability")."""
