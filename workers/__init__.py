"""Background work: RQ jobs, the worker that runs them inside the app, the periodic schedule."""
