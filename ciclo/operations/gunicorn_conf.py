"""gunicorn's configuration for `ciclo serve`, which adds the bind address, workers, threads, graceful
timeout and control socket from the environment on gunicorn's command line (ciclo.operations.web).

Threads workers: a worker's threads share its memory, and each thread keeps one database
connection, so the server opens at most WEB_CONCURRENCY × WEB_THREADS of them.

gunicorn's master process imports nothing of Ciclo but this module and the access log's: each
worker loads Django and Ciclo afresh, so on SIGHUP (`systemctl reload ciclo-web`) the new workers
run the code on disk.
"""

from __future__ import annotations

wsgi_app = "ciclo.wsgi:application"
worker_class = "gthread"
# One structured line per request on stdout; the server's own messages on stderr.
logger_class = "ciclo.operations.access_log.AccessLog"
accesslog = "-"
errorlog = "-"
proc_name = "ciclo-web"
