"""opencode-alicloud: the command-line tool for the whole life of a workspace (see app.py)."""
