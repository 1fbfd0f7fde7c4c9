"""Command line and experiment definitions of tf-infomax."""
