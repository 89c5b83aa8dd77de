"""snf-burnin: the deployment self-test, a pure API client of a Synnefo asterias cloud."""
