"""Messages a user reads, written once in English and translated where they are shown.

The services raise :class:`UserError` for bad input: its ``message`` is an English template marked
with :func:`N_` (so the catalog check finds it) and its ``params`` fill the template. The CLI prints
``str(error)`` (English); the web pages show :meth:`UserError.translate` in the reader's language.
Parameters are data (item codes, file names, values): they are filled in after translation and
escaped by the template like any other text.
"""

from __future__ import annotations

from collections.abc import Callable


def N_(message: str) -> str:
    """Mark a message for translation where it is defined; it is translated where it is shown."""
    return message


class Term(str):
    """A word of the interface used as a message value (a field's name, a status): translated
    together with the message. Mark the word for the catalogs where it is defined, as with any
    message, and pass it wrapped: ``field=Term(SUBJECT)``."""


class UserError(ValueError):
    """Bad input, explained: an English message template (marked with :func:`N_`) and its values.

    >>> str(UserError("The data have no {item!r} item.", item="ces"))
    "The data have no 'ces' item."
    """

    def __init__(self, message: str, **params: object):
        self.message = message
        self.params = params
        super().__init__(message.format(**params) if params else message)

    def translate(self, gettext: Callable[[str], str]) -> str:
        """The message in the language of ``gettext``, with its values filled in."""
        template = gettext(self.message)
        params = {k: gettext(v) if isinstance(v, Term) else v for k, v in self.params.items()}
        try:
            return template.format(**params) if params else template
        except (KeyError, IndexError, ValueError):  # a catalog entry with a broken placeholder
            return str(self)


class NotAsked(UserError):
    """The survey does not ask the questions an analysis needs (a SERVQUAL analysis of a
    relationship survey): the analysis does not apply, nothing went wrong. Pages list such
    analyses once instead of showing each as a failure."""


class Message(str):
    """A message that is its English text (a ``str``: code and tests compare it as text) and
    keeps its template, values and a ``prefix`` (such as the path of a problem in a definition),
    so that a page shows it in the reader's language (:func:`translated`).

    >>> Message(N_("must be one of {choices}; got {value!r}"), prefix="items[0].type",
    ...         choices="rating, nps", value="slider")
    "items[0].type: must be one of rating, nps; got 'slider'"
    """

    message: str
    params: dict
    prefix: str

    def __new__(cls, message: str, *, prefix: str = "", **params: object):
        text = message.format(**params) if params else message
        made = super().__new__(cls, f"{prefix}: {text}" if prefix else text)
        made.message, made.params, made.prefix = message, params, prefix
        return made

    def translate(self, gettext: Callable[[str], str]) -> str:
        text = UserError(self.message, **self.params).translate(gettext)
        return f"{self.prefix}: {text}" if self.prefix else text


def translated(error: BaseException | str, gettext: Callable[[str], str]) -> str:
    """What to show a reader for ``error``: a :class:`UserError` or :class:`Message` in their
    language, else its text."""
    if isinstance(error, UserError | Message):
        return error.translate(gettext)
    return gettext(str(error))


__all__ = ["Message", "N_", "NotAsked", "Term", "UserError", "translated"]
