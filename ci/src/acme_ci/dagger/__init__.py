"""The Dagger shell: the Dagger module's main object and the containers it builds."""
