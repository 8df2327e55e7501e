"""Security tests: uploads, headers and CSP, audit log, personal data, secrets, the RQ dashboard."""
