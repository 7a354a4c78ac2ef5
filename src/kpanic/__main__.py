import sys

from kpanic.cli import main

sys.exit(main())
