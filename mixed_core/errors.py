"""The one error type a user sees: a sentence saying what is wrong and what to do."""


class UserInputError(ValueError):
    """Bad data, a wrong column, or a model that cannot be fitted.

    ``str(error)`` is a complete sentence meant for the person using the tool;
    pages show it inline and the CLI prints it after ``error:``.
    """
