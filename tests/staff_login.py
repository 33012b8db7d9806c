"""Logging a test client in as one of the seeded staff (``client.info["logins"]``), with the
interface language set by its cookie: one helper for the page tests that need it."""

from __future__ import annotations

from bs4 import BeautifulSoup


def log_in(client, role: str = "analyst", lang: str = "zh_Hans") -> None:
    email, password = client.info["logins"][role]
    token = BeautifulSoup(client.get("/login").text, "html.parser").find(
        "input", {"name": "csrf_token"})["value"]
    client.post("/login", data={"email": email, "password": password, "csrf_token": token,
                                "next": "/"}, follow_redirects=False)
    client.cookies.set("patronage_lang", lang)
