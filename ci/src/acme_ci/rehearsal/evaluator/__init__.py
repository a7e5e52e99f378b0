"""The evaluator: dagger-io's lazy queries, evaluated on podman in place of the Dagger engine."""
