"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import gc

from hotline import create_app

app = create_app()
# The app's own objects (models, catalogs, phone metadata...) live as long as the process:
# frozen, they are left out of the collector's full passes, which otherwise walked all of
# them and held every request of the worker for tens of milliseconds.
gc.freeze()
