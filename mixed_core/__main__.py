import sys

from . import cli

# This process runs one command and exits: the CLI may tune it for that (``memory.keep_freed_memory``),
# which ``cli.main`` called from a longer-lived program must not do.
cli.OWN_PROCESS = True
sys.exit(cli.main())
