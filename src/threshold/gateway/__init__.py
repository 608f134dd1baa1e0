"""The gateway: the only way to lake data. Parse, resolve, authorise, rewrite, execute, record."""
