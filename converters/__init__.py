"""articles: check and convert corpora of news-article files.

The library is usable without the command line:

    from converters.check import CheckOptions, check_paths
    for result in check_paths(["corpus/"], CheckOptions()):
        print(result.file, result.valid, result.errors)

This module stays import-light so that `articles --version` starts at once.
"""

__version__ = "0.1.0"
