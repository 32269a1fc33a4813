"""The lab inventory: devices.yaml as typed models (`model.py`), the checks of its fields
(`fields.py`), and loading it with one line per mistake (`load.py`)."""
