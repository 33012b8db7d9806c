"""The password policy for staff accounts, and one-time passwords.

A password is refused when it is too short or too long, only white space, one character or a
short pattern repeated, a run along the alphabet, the digits or the keyboard (``1234567890``,
``qwertyuiop``, ``1qaz2wsx``), one of the common passwords shipped in
``patronage/data/common_passwords.txt`` (also with digits or symbols around it, in capitals,
repeated or with look-alike characters such as ``p@ssw0rd``), or when it contains the name of
the account's e-mail address or its company domain. These are the checks of NIST SP 800-63B
§5.1.1.2; there are no rules about character classes.
"""

from __future__ import annotations

import re
import secrets
import string
from functools import lru_cache
from importlib.resources import files

from patronage.messages import N_, UserError

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128

#: Runs a person types without thinking: alphabet, digits, keyboard rows and columns.
_SEQUENCES = (
    string.ascii_lowercase, "0123456789", "1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm",
    "!@#$%^&*()", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "qazwsxedcrfvtgbyhnujmikolp",
    "1q2w3e4r5t6y7u8i9o0p", "q1w2e3r4t5y6u7i8o9p0", "a1b2c3d4e5f6g7h8i9",
    "zaq1xsw2cde3vfr4bgt5nhy6mju7", "147258369", "789456123", "159753",
)
_RUNS = _SEQUENCES + tuple(s[::-1] for s in _SEQUENCES)
#: At most this many characters outside sequences and repeats still make a "simple" password.
_SPARE = 2
_LOOK_ALIKE = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o",
                             "$": "s", "5": "s", "7": "t", "+": "t", "8": "b", "9": "g"})
_AROUND = string.digits + string.punctuation + string.whitespace
#: Mail providers whose domain names say nothing about the person or the company.
_MAIL_PROVIDERS = {"gmail", "yahoo", "hotmail", "outlook", "live", "icloud", "qq", "163", "126",
                   "sina", "sohu", "yeah", "foxmail", "aliyun", "139", "example", "mail"}

# The reasons, one message each (translated where they are shown).
TOO_SHORT = N_("The password must have at least {minimum} characters.")
TOO_LONG = N_("The password can have at most {maximum} characters.")
BLANK = N_("The password cannot be only spaces.")
REPEATED = N_("The password repeats one character or a short pattern (like aaaaaaaaaa or "
              "1212121212); choose one that is harder to guess.")
SEQUENCE = N_("The password is a simple sequence or keyboard pattern (like 1234567890 or "
              "qwertyuiop); choose one that is harder to guess.")
COMMON = N_("The password is one of the most common passwords or built from one; choose one "
            "that is harder to guess.")
NAMED = N_("The password cannot contain a part of the e-mail address ({part}).")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords and the words they are built from (lower case)."""
    text = (files("patronage") / "data" / "common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def _unit(text: str) -> str:
    """The shortest piece that ``text`` repeats (``text`` itself when it repeats nothing)."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def _is_repeated(text: str) -> bool:
    return len(set(text)) <= 3 or len(_unit(text)) <= 3


def _covered(text: str, is_piece, longest: int) -> bool:
    """Whether pieces of 3 to ``longest`` characters accepted by ``is_piece`` cover ``text``
    except for at most :data:`_SPARE` characters."""
    size = len(text)
    spare = [0] + [size + 1] * size  # spare[i]: fewest characters left over in text[:i]
    for start in range(size):
        if spare[start] > _SPARE:
            continue
        spare[start + 1] = min(spare[start + 1], spare[start] + 1)
        for end in range(start + 3, min(size, start + longest) + 1):
            if spare[start] < spare[end] and is_piece(text[start:end]):
                spare[end] = spare[start]
    return spare[size] <= _SPARE


def _is_run(piece: str) -> bool:
    return len(set(piece)) == 1 or any(piece in run for run in _RUNS)


def _is_sequence(text: str) -> bool:
    """Runs along the alphabet, the digits or the keyboard (or of one character), nearly all
    of it."""
    return _covered(text, _is_run, max(len(run) for run in _RUNS))


def _cores(lowered: str) -> set[str]:
    """``lowered`` without the digits and symbols around it, also with look-alikes undone."""
    core = lowered.strip(_AROUND)
    undone = lowered.rstrip(_AROUND).translate(_LOOK_ALIKE).strip(_AROUND)
    forms = {lowered, core, undone, core.translate(_LOOK_ALIKE), re.sub(r"\s+", "", core)}
    return {f for f in forms if f} | {_unit(f) for f in forms if f}


def _is_common(lowered: str) -> bool:
    """One common password, or several (and runs) strung together, nearly all of it."""
    common = common_passwords()
    if _cores(lowered) & common:
        return True
    longest = max(max(len(word) for word in common), 6)

    def is_piece(piece: str) -> bool:
        return piece in common or _is_run(piece)

    compact = re.sub(r"\s+", "", lowered)
    return any(_covered(form, is_piece, longest)
               for form in (compact, compact.translate(_LOOK_ALIKE)))


def _named_parts(email: str | None) -> list[str]:
    """Parts of ``email`` a password must not contain: the local part and its pieces, and
    the company's domain name (not a mail provider's)."""
    if not email or "@" not in email:
        return []
    local, _, domain = email.strip().lower().rpartition("@")
    parts = [local] if len(local) >= 3 else []
    parts += [p for p in re.split(r"[._+\-]", local) if len(p) >= 4]
    labels = domain.split(".")
    if len(labels) >= 2:
        company = labels[-3] if labels[-2] in {"com", "net", "org", "edu", "gov"} and len(
            labels) >= 3 else labels[-2]
        parts += [p for p in [company, *company.split("-")]
                  if len(p) >= 4 and p not in _MAIL_PROVIDERS]
    return list(dict.fromkeys(parts))


def check_password(password: str, email: str | None = None) -> None:
    """Raise :class:`~patronage.messages.UserError` saying why ``password`` is too weak for
    the account of ``email``; return None when it is acceptable."""
    if password.strip() == "":
        raise UserError(BLANK)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(TOO_SHORT, minimum=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(TOO_LONG, maximum=MAX_PASSWORD_LENGTH)
    lowered = password.lower()
    compact = re.sub(r"\s+", "", lowered)
    if _is_repeated(compact):
        raise UserError(REPEATED)
    if _is_sequence(compact):
        raise UserError(SEQUENCE)
    undone = lowered.translate(_LOOK_ALIKE)
    for part in _named_parts(email):
        if part in lowered or part in undone or part in compact:
            raise UserError(NAMED, part=part)
    if _is_common(lowered):
        raise UserError(COMMON)


_ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud safely


def one_time_password() -> str:
    """A random password to hand over once (about 79 bits, ``xxxx-xxxx-xxxx-xxxx``)."""
    while True:
        groups = ["".join(secrets.choice(_ONE_TIME_ALPHABET) for _ in range(4)) for _ in range(4)]
        password = "-".join(groups)
        try:
            check_password(password)
        except UserError:
            continue
        return password


__all__ = ["MAX_PASSWORD_LENGTH", "MIN_PASSWORD_LENGTH", "check_password", "common_passwords",
           "one_time_password"]
