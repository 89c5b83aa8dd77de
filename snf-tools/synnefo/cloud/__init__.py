"""snf-cloud: the user CLI for what the openstack CLI cannot do on Synnefo asterias."""
