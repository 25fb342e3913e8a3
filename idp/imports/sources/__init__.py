"""Source readers: each turns one kind of export or directory into `SourceData`."""
