"""Local stand-ins for the outside services that tests and benchmarks talk to."""
