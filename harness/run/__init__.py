"""A pytest run: outcome records, test order, profiles, selection, the gate's verdict, the pytest
subprocess and its progress."""
