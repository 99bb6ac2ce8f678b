"""A process of `duban audit verify`: checks one range of case ids (duban.services.integrity).

    python -m duban.services.verifyworker   < pickled job   > pickled report

Started by integrity.verify only, which writes the job (database URL, audit keys, range) to its
stdin: neither reaches the command line or the environment, where other users could read them.
"""

from __future__ import annotations

import pickle
import sys

from duban.services.integrity import range_report


def main() -> None:
    job = pickle.load(sys.stdin.buffer)  # from the verify that started this process
    report = range_report(*job)
    sys.stdout.buffer.write(pickle.dumps(report))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
