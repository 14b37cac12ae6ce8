"""Environment sensors: fridge/freezer thermometers and people (queue) counters."""
