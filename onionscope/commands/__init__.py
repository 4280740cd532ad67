"""One module per ``onionscope`` subcommand.

Each module defines ``configure(parser)``, which adds its arguments (and its own
sub-subcommands), and ``run(args, settings) -> int``, which does the work and
returns the exit status.  Modules are imported only when their command runs,
so ``onionscope --help`` stays fast and nothing is imported that is not used.
"""
