"""How the harness talks to a device and the world around it: ISAPI, SSH, mail, the vendor cloud's
phone app, QR codes, TLS."""
