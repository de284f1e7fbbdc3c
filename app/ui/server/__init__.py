"""The Server window: this installation's registration, the upload password, portal
passwords, server accounts and shares. What it does over the network is in
sync_agent.server_service, without Qt."""
