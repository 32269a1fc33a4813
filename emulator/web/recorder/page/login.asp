<!DOCTYPE html>
<html><head><meta charset="utf-8"><script>window.location.href = "/doc/index.html#/portal/login";</script></head><body></body></html>
