"""`python -m converters` is the `articles` command."""

from converters.command import main

main()
