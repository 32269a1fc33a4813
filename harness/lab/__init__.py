"""The devices of a run: endpoints, the emulated-lab host, the device under test and its GUI,
states, leases, health, credentials."""
