"""`python -m monitor` is `newsmon`."""

from monitor.cli import main

main()
