"""Electronic shelf label access points (hub kind ``esl_ap``)."""
