"""Staff sign-in: login, logout, password change, role checks and the audit of logins."""
