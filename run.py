#!/usr/bin/env python3
"""alertflow's command line: `python run.py --help`."""
import sys

from agents.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
