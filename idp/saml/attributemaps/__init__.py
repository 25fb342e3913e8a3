"""pysaml2 attribute maps: our attribute names (FriendlyName) and their URI names."""
