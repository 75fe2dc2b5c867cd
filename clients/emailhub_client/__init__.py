"""The Emailhub API for Python applications: no Django needed."""
