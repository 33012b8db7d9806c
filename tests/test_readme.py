"""The README's promises: its Python example runs and prints what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

README = Path(__file__).resolve().parents[1] / "README.md"


def test_python_example_runs_and_matches_its_comments():
    block = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    by_wave = namespace["answers"].groupby("wave")["nps"].agg(namespace["nps"])
    pd.testing.assert_series_equal(by_wave, pd.Series({"Q1": 0.0, "Q2": 50.0}, name="nps"),
                                   check_names=False, check_index_type=False)
    assert "# Q1 0.0, Q2 50.0" in block


def test_quickstart_is_two_commands_and_ci_runs_the_test_one():
    text = README.read_text(encoding="utf-8")
    quickstart = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quickstart, re.S)
    assert len(commands) == 2
    assert commands[0].endswith("patronage demo")
    assert commands[1].endswith("pytest")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].replace('pip install ".[test]"', 'pip install -q ".[test]"') in ci
