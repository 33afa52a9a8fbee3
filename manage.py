#!/usr/bin/env python
from ciclo.cli import main

if __name__ == "__main__":
    main()
