"""`python -m endpoint`: the same as `webhooks-endpoint`."""

import sys

from endpoint.cli import main

sys.exit(main())
