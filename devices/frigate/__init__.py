"""A Frigate NVR's MQTT output as vision events (contract-external kind ``frigate``)."""
