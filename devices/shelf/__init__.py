"""Smart shelves of a grab-and-go store: slot scales, a pick camera, shopper tracks."""
