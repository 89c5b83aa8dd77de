"""snf-image: the Ganeti OS provider that deploys Synnefo images (see docs/images.md)."""
