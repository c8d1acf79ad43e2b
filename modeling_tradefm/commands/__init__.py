"""Sub-commands of the ``tradefm`` console command; see ``modeling_tradefm.cli``."""
