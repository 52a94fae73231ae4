"""The one exception the library raises for bad user input; the CLI turns it into exit code 2."""

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad input (a file, a mask, a setting): the message names the file or option and the problem.

    A ``ValueError``; the CLI turns it into exit code 2.
    """
