"""`python -m smtpcheck` runs the command line."""

from smtpcheck.cli import main

main()
