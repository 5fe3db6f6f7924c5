"""`python -m converters` is the `articles` command."""

from converters.cli import main

main()
