"""Text as an error line or a terminal may show it: short, escaped, without secrets.

Every layer that puts a caller's value into a message goes through these three, so no
line grows with its input, no control character reaches a terminal raw, and no URL's
password is echoed.
"""

import re

SHOWN_CHARACTERS = 40

_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_URL_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s/?#:]*):[^\s/?#]*@")


def shown(value: object) -> str:
    """A value as an error line may show it: its repr, cut to about 40 characters."""
    if isinstance(value, str) and len(value) > SHOWN_CHARACTERS:
        return repr(value[:SHOWN_CHARACTERS]) + "…"
    text = repr(value)
    return text if len(text) <= SHOWN_CHARACTERS + 2 else text[:SHOWN_CHARACTERS] + "…"


def escaped(text: str, keep: str = "") -> str:
    """`text` with control characters and lone surrogates written as escapes (`\\x1b`, `\\ud800`).

    What a terminal must never receive raw: a stored `\\x1b]0;title\\x07` would retitle
    it, `\\x1b[2J` clear it. Characters in `keep` (say, a message's line feeds) stay.
    """

    def escape(found: re.Match[str]) -> str:
        character = found.group()
        return character if character in keep else character.encode("unicode_escape").decode("ascii")

    return _UNSHOWABLE.sub(escape, text)


def masked(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***` (`http://user:***@host:port`)."""
    return _URL_PASSWORD.sub(r"\1:***@", text)
