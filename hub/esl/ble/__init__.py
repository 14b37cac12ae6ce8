"""Bluetooth SIG ESL Service (0x1857): the codec (:mod:`.codec`, :mod:`.ots`) and a
``bleak`` driver (:mod:`.driver`)."""
