"""`python -m workers [queue ...]`: run one worker process on the app's queues."""

from __future__ import annotations

import gc
import sys

from hotline import create_app
from workers.worker import make_worker


def main(argv: list[str]) -> None:
    """Build the app once, then work the given queues (default: high, default, low)."""
    # create_app configures JSON logging on the root logger; RQ then adds no handler of its own.
    app = create_app()
    burst = "--burst" in argv
    names = [a for a in argv if not a.startswith("--")] or None
    worker = make_worker(app, names)
    gc.freeze()  # the app lives as long as the process: out of the full collections
    worker.work(burst=burst, with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
