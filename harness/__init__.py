"""The QA library of the HIL harness: inventory, expectations, clients, leases, mailboxes.

It reaches devices only as real hardware is reached (HTTP(S), SSH, e-mail, the cloud's API,
the lab controller) and never imports `emulator`.
"""
