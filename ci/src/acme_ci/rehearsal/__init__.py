"""The rehearsal: runs the Dagger shell's own queries in local containers (verification only)."""
