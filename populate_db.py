"""Create AVAILABLE appointment slots (the seed's `python populate_db.py`).

Same code and options as `flask --app webapp populate-slots`; run with --help for them.
Configuration comes from the environment (TABLE_NAME, AWS_REGION, ...).
"""

import sys

from webapp import create_app
from webapp.cli import populate_slots_command

if __name__ == "__main__":
    with create_app().app_context():
        sys.exit(populate_slots_command.main(args=sys.argv[1:], prog_name="populate_db.py"))
