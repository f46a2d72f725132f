"""The command line: one module per command (``add_parser`` + ``run``), a tiny dispatcher."""
