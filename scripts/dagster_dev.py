"""Start `dagster dev` so that Ctrl-C (SIGINT) and SIGTERM stop it and its children.

A shell that starts a job in the background (`make dev &`, CI, an IDE's task runner) hands it
SIGINT ignored, and `dagster dev` maps SIGTERM to whatever SIGINT does: both signals were then
ignored and the UI kept running. Restoring SIGINT's default before exec lets Python install its
KeyboardInterrupt handler again, so either signal shuts Dagster's services down in order.
"""

import os
import signal
import sys

if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    os.execv(dagster, [dagster, "dev", *sys.argv[1:]])
