"""One module per `acme-ci` verb, each with `run(args) -> exit code`."""
