"""Scheduled crawl jobs at run time: the scheduler daemon and what it needs.

* :mod:`onionscope.scheduling.locks` -- the scheduler's lock and each job's run lock;
* :mod:`onionscope.scheduling.state` -- where a scheduler keeps its state (last runs, running runs);
* :mod:`onionscope.scheduling.runner` -- one run of a job in this process (``onionscope jobs run``);
* :mod:`onionscope.scheduling.daemon` -- the daemon (``onionscope scheduler``): children, overlaps,
  missed runs, SIGTERM;
* :mod:`onionscope.scheduling.metrics` -- its Prometheus metrics;
* :mod:`onionscope.scheduling.logs` -- structured (JSON) log lines for daemons.

The schedule itself (the file and its timing) is :mod:`crawler.schedules`;
run records are :mod:`pipelines.job_runs` (writing) and :mod:`search.job_runs` (reading).
"""
