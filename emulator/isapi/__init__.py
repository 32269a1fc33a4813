"""The device's HTTP face: ISAPI routes, their documents, authentication and the GUI files.

One aiohttp Application serves every device of a fleet; each device has its own listening
socket and a request's device is found from the local port it arrived on.
"""
