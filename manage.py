#!/usr/bin/env python
from claimwise.cli import main

if __name__ == "__main__":
    main()
