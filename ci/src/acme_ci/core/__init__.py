"""The pure core: manifests and changed files in, a Plan and its results out. No I/O."""
