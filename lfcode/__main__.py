"""``python -m lfcode`` runs the command line."""

from lfcode.cli import main

if __name__ == "__main__":
    main()
