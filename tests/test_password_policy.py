"""The password policy: long enough, not common, not trivial, not the e-mail's name.

The rules follow NIST SP 800-63B §5.1.1.2 (at least 8 characters, check against lists of
commonly used, expected or compromised values: dictionary words, repetitive or sequential
characters such as 'aaaaaa' or '1234abcd', context-specific words such as the user name); the
minimum here is 10.
"""

from __future__ import annotations

import pytest

from patronage.messages import UserError
from patronage.passwords import (
    MIN_PASSWORD_LENGTH,
    check_password,
    common_passwords,
    one_time_password,
)

EMAIL = "lin.qiao@huadong-precision.cn"


@pytest.mark.parametrize("password, reason", [
    ("password", "at least"),
    (" " * 8, "only spaces"),
    (" " * 12, "only spaces"),
    ("\t \u3000 \n      ", "only spaces"),
    ("aaaaaaaaaaaa", "repeats"),
    ("1212121212", "repeats"),
    ("abcabcabcabc", "repeats"),
    ("1234567890", "sequence"),
    ("0987654321", "sequence"),
    ("abcdefghijkl", "sequence"),
    ("qwertyuiop", "sequence"),
    ("qwerty123456", "sequence"),
    ("1qaz2wsx3edc", "sequence"),
    ("asdfgh123!", "sequence"),
    ("password123", "common"),
    ("Password2026!", "common"),
    ("P@ssw0rd2024", "common"),
    ("passwordpassword", "common"),
    ("iloveyou1314", "common"),
    ("woaini1314520", "common"),
    ("Welcome@2026", "common"),
    ("changeme!!!", "common"),
    ("1q2w3e4r5t6y", "sequence"),
    ("5201314520", "common"),
    ("lin.qiao2026!", "e-mail"),
    ("QIAO-is-my-name", "e-mail"),
    ("huadong-2026-xyz", "e-mail"),
    ("x" * 200, "at most"),
])
def test_weak_passwords_are_refused_with_a_reason(password, reason):
    with pytest.raises(UserError) as caught:
        check_password(password, EMAIL)
    assert reason in str(caught.value), str(caught.value)


@pytest.mark.parametrize("password", [
    "correct horse battery", "Tide-Lantern-4417", "湖边的灯塔在夜里亮着", "mq7#Vz2!pR9w",
    "  leading and trailing  ", "lin-fa 2026 東風",
])
def test_reasonable_passwords_pass(password):
    check_password(password, EMAIL)


def test_short_local_parts_do_not_forbid_ordinary_words():
    check_password("Tide-Lantern-4417", "ta@example.com")  # 'ta' is not looked for


def test_minimum_length_is_ten_and_the_message_says_so():
    assert MIN_PASSWORD_LENGTH == 10
    with pytest.raises(UserError, match="at least 10 characters"):
        check_password("Zq8#pL2v!", None)
    check_password("Zq8#pL2v!m", None)


def test_the_common_list_ships_with_the_package_and_is_normalized():
    words = common_passwords()
    assert {"password", "123456", "qwerty", "iloveyou", "woaini", "admin"} <= words
    assert len(words) >= 300
    assert all(w == w.strip().lower() and w for w in words)


def test_one_time_passwords_pass_the_policy_and_differ():
    seen = {one_time_password() for _ in range(50)}
    assert len(seen) == 50
    for password in seen:
        check_password(password, EMAIL)
        assert len(password) >= 16
