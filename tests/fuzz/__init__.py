"""Fuzz tests: schemathesis over the OpenAPI documents, hypothesis over every parser."""
