#!/bin/sh
# Integration tests for socksify: real proxies and real clients in private network namespaces.
# Usage (as root, from anywhere): tests/integration/run.sh [--list] [-v] [PATTERN...]
# Called by `make integration`. See tests/integration/README.md for details and the file layout.
here=$(dirname "$0")
exec /usr/bin/python3 "$here/run.py" "$@"
