"""``python -m patronage``: the same as the ``patronage`` command."""

from patronage.cli import main

if __name__ == "__main__":
    main(prog_name="patronage")
