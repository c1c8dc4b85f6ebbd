"""The ``imgqa`` command line. One module per subcommand; see `imgqa.cli.main`."""
