"""A run of an experiment: the YAML schema (config), the named seed streams, what a run
measures (study), the runner (experiment) and the run folder's names (folder)."""
