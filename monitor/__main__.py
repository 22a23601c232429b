"""`python -m monitor` is `newsmon`."""

from monitor.cli.app import main

main()
