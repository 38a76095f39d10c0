"""`python -m reference` is `webhooks-dispatcher`."""

import sys

from reference.cli import main

sys.exit(main())
