"""Running Ciclo: the production web server (`ciclo serve`), its access log and its static files."""
