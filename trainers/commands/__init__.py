"""Sub-commands of `tf-infomax`: each module has add_parser(subparsers) and run(args)."""
