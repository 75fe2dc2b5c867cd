"""Deployment: packaging hooks, the packaging script, the rehearsal harness."""
